"""The lab's Azure refuses the inputs real Azure refuses (lab/FIDELITY.md, "Azure: input domains and world checks"):
policy names that need URL encoding, an application-consistent snapshot frequency longer than the retention, a
failover whose target VM name is taken in the target group, and any request that is not TLS. ARM decodes each path
segment once, so a name sent encoded is stored as the user gave it."""

from __future__ import annotations

import socket
import ssl
from urllib.parse import urlsplit

import pytest
from azure.core.exceptions import HttpResponseError

from inprocess_azure import wait_until

from lab.azure import compute

POLICY_PATH = "/subscriptions/{sub}/resourceGroups/{rg}/providers/Microsoft.RecoveryServices/vaults/{vault}/replicationPolicies/"


def _policy_body(history=4, app=1):
    return {"properties": {"providerSpecificInput": {
        "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": history,
        "applicationConsistentSnapshotFrequencyInHours": app, "replicationInterval": 300}}}


def _code(body):
    """Site Recovery's own code: ARM's "BadRequest" with the service code in details[0] (reprotect.json entry 12)."""
    error = body["error"]
    return ((error.get("details") or [{}])[0]).get("code") or error["code"]


def _policy_names(lab):
    return [p.name for p in lab.asr.replication_policies.list(lab.rg, lab.vault)]


def _created(lab, name):
    """Wait for the policy job to store the policy (lab minutes pass quickly)."""
    def stored():
        lab.advance(120)
        return name in _policy_names(lab)
    wait_until(stored, what=f"policy {name}")


def _path(lab, encoded_name):
    return POLICY_PATH.format(sub=lab.sub, rg=lab.rg, vault=lab.vault) + encoded_name


@pytest.mark.parametrize("encoded", ["pol%20x", "pol%25x", "pol%3Fx", "-pol", "pol.x"])
def test_policy_names_that_need_encoding_are_refused(lab, encoded):
    status, _headers, body = lab.raw("PUT", _path(lab, encoded), _policy_body())
    assert status == 400 and _code(body) == "InvalidPolicyName", body
    assert all(p.name != encoded for p in lab.asr.replication_policies.list(lab.rg, lab.vault))


def test_a_name_sent_encoded_is_stored_decoded_as_given(lab):
    status, _headers, _body = lab.raw("PUT", _path(lab, "pol%2Ddecoded"), _policy_body())   # %2D is '-'
    assert status in (200, 202)
    _created(lab, "pol-decoded")
    assert "pol%2Ddecoded" not in _policy_names(lab)


def test_app_consistent_frequency_over_the_retention_is_refused_on_create_and_on_update(lab):
    status, _headers, body = lab.raw("PUT", _path(lab, "pol-app-over"), _policy_body(history=2, app=4))
    assert status == 400 and _code(body) == "InvalidPolicyParameter", body
    assert "retention" in body["error"]["message"]
    status, _headers, _body = lab.raw("PUT", _path(lab, "pol-app-ok"), _policy_body(history=4, app=0))
    assert status in (200, 202)
    _created(lab, "pol-app-ok")
    # An update that lowers the retention under the policy's own snapshot frequency is refused as well.
    status, _headers, _body = lab.raw("PUT", _path(lab, "pol-app-edge"), _policy_body(history=4, app=4))
    assert status in (200, 202)
    _created(lab, "pol-app-edge")
    status, _headers, body = lab.raw("PATCH", _path(lab, "pol-app-edge"), {"properties": {"replicationProviderSettings": {
        "instanceType": "HyperVReplicaAzure", "recoveryPointHistoryDuration": 2}}})
    assert status == 400 and _code(body) == "InvalidPolicyParameter", body
    details = lab.asr.replication_policies.get(lab.rg, lab.vault, "pol-app-edge").properties.provider_specific_details
    assert details.recovery_point_history_duration_in_hours == 4


def test_a_failover_whose_target_vm_name_is_taken_fails_before_the_source_is_shut_down(lab, site):
    asr, cloud = lab.asr, lab.world.azure
    group = lab.endpoints["target_resource_group"]
    vm_id = site.enable("file01", targetAzureVmName="file01-taken")
    blocker = lab.on_loop(lambda: compute.create_vm_internal(cloud, group, "FILE01-TAKEN", lab.endpoints["location"],
                                                             "Standard_B1s", None, "Windows", [], []))
    try:
        site.wait_protected(vm_id, step_s=3600)
        poller = asr.replication_protected_items.begin_planned_failover(*site.args(vm_id), {"properties": {
            "failoverDirection": "PrimaryToRecovery", "providerSpecificDetails": {"instanceType": "HyperVReplicaAzure"}}})
        with pytest.raises(HttpResponseError) as failed:
            poller.result()
        assert "TargetVmNameAlreadyInUse" in str(failed.value) or "already exists" in str(failed.value)
        assert lab.vm("HV01", "file01").state == "Running"           # the source was not shut down
        names = [vm.name.lower() for vm in lab.compute.virtual_machines.list(group)]
        assert names.count("file01-taken") == 1                       # no second VM of that name
        assert site.item(vm_id).properties.active_location == "Primary"
    finally:
        lab.on_loop(lambda: cloud.delete(blocker["id"]))
        asr.replication_protected_items.begin_delete(*site.args(vm_id), {"properties": {
            "disableProtectionReason": "NotSpecified"}}).result()


@pytest.mark.parametrize("endpoint", ["authority_url", "arm_url"])
def test_plain_http_gets_no_answer_and_no_token(lab, endpoint):
    """Entra ID and ARM speak TLS only: a plain-http request (what an http:// cloud_environment or authority would send,
    credentials in clear text) gets no HTTP answer, and no token is issued."""
    issued = lab.world.azure.entra.tokens_issued
    address = urlsplit(lab.endpoints[endpoint])
    request = (f"POST /{lab.endpoints.get('tenant_id', 'common')}/oauth2/v2.0/token HTTP/1.1\r\nHost: {address.netloc}\r\n"
               "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\nConnection: close\r\n\r\n"
               "grant_type=client_credentials").encode()
    with socket.create_connection((address.hostname, address.port), timeout=10) as connection:
        connection.sendall(request)
        try:
            answer = connection.recv(4096)
        except (ConnectionResetError, ssl.SSLError):
            answer = b""
    assert not answer.startswith(b"HTTP/"), answer[:200]
    assert lab.world.azure.entra.tokens_issued == issued
