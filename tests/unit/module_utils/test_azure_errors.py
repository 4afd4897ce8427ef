"""The one error type: messages carry the operation, the service code, causes and the recommended action."""

import pytest

from ansible_collections.azmigrate.hyperv.plugins.module_utils._azure_errors import (
    azure_errors,
    azure_operation,
    AzureModuleError,
    error_from_exception,
    is_not_found,
    parse_error_body,
)

from asr_recordings import FakeResponse, entry, needs_recordings

exceptions = pytest.importorskip("azure.core.exceptions")


def http_error(status, body=None, headers=None, cls=None):
    return (cls or exceptions.HttpResponseError)(response=FakeResponse(status, body, headers))


def test_message_names_operation_code_causes_and_action():
    error = AzureModuleError("enable replication for VM 'web01'", "Parameters are not correct.", code="6001",
                             possible_causes="\n   Only one of the following\n   a) storageAccountId\n ",
                             recommended_action="Provide the correct input parameters and retry")
    assert str(error) == ("Failed to enable replication for VM 'web01' (6001): Parameters are not correct. "
                          "Possible causes: Only one of the following a) storageAccountId. "
                          "Recommended action: Provide the correct input parameters and retry.")
    assert error.fail_kwargs()["error"]["code"] == "6001"
    assert error.fail_kwargs()["msg"] == str(error)


@needs_recordings
def test_recorded_synchronous_asr_error_uses_the_detail():
    recorded = entry("reprotect.json", 12)
    assert recorded["status"] == 400
    code, message, causes, action = parse_error_body(recorded["response_body"])
    assert code == "InvalidFailoverDirection"
    assert message.startswith("Invalid failover direction")
    error = error_from_exception("reprotect VM 'VM1'", http_error(400, recorded["response_body"]))
    assert error.code == "InvalidFailoverDirection" and error.status == 400
    assert (causes, action) == ("Invalid parameters were specified.", "Verify the input and try again.")
    assert str(error) == ("Failed to reprotect VM 'VM1' (InvalidFailoverDirection): Invalid failover direction was "
                          "specified. Verify input and try operation again. Possible causes: Invalid parameters were "
                          "specified. Recommended action: Verify the input and try again.")


def test_entra_error_body():
    body = {"error": "invalid_client", "error_description": "AADSTS7000215: Invalid client secret provided."}
    assert parse_error_body(body)[:2] == ("invalid_client", "AADSTS7000215: Invalid client secret provided.")


@pytest.mark.parametrize("body", [None, [], "x", {"error": 3}, {}])
def test_unparseable_bodies(body):
    assert parse_error_body(body) == (None, None, None, None)


def test_throttled_request_mentions_retry_after_and_what_to_do():
    body = {"error": {"code": "SubscriptionRequestsThrottled", "message": "Number of 'read' requests ... exceeded."}}
    error = error_from_exception("list the replicated VMs of vault 'v'", http_error(429, body, {"Retry-After": "17"}))
    assert error.code == "SubscriptionRequestsThrottled" and error.status == 429
    assert "(Retry-After: 17 s)" in str(error) and "throttle or forks" in str(error)


def test_not_found_advice_and_predicate():
    body = {"error": {"code": "ResourceNotFound", "message": "The Resource 'Microsoft.RecoveryServices/vaults/x' was not found."}}
    exc = http_error(404, body, cls=exceptions.ResourceNotFoundError)
    error = error_from_exception("list the replication policies of vault 'x'", exc)
    assert error.code == "ResourceNotFound" and "Check the resource group" in str(error)
    assert is_not_found(exc)
    unregistered = {"error": {"code": "BadRequest", "message": "m", "details": [{"code": "SubscriptionIdNotRegisteredWithSrs"}]}}
    assert is_not_found(http_error(400, unregistered))
    assert not is_not_found(http_error(400, body))


def test_authorization_failed_gets_role_advice():
    body = {"error": {"code": "AuthorizationFailed", "message": "The client 'x' does not have authorization."}}
    error = error_from_exception("create replication policy 'p' in vault 'v'", http_error(403, body))
    assert "Site Recovery Contributor" in str(error)


def test_token_failure_and_network_failures():
    error = error_from_exception("list the replicated VMs of vault 'v'",
                                 exceptions.ClientAuthenticationError("AADSTS7000215: Invalid client secret provided."))
    assert error.code == "AADSTS7000215" and "authentication failed: AADSTS7000215: Invalid client secret" in str(error)
    error = error_from_exception("x", exceptions.ClientAuthenticationError("Authentication failed: AADSTS700016: no app"))
    assert error.code == "AADSTS700016" and str(error).startswith("Failed to x (AADSTS700016): Authentication failed: ")
    error = error_from_exception("x", exceptions.ServiceRequestError(
        "[SSL: CERTIFICATE_VERIFY_FAILED] certificate verify failed: self-signed certificate"))
    assert error.code == "TLSVerifyFailed" and "ca_cert" in str(error)
    error = error_from_exception("x", exceptions.ServiceRequestError("Connection refused"))
    assert error.code == "ServiceRequestError" and "cloud_environment" in str(error)
    error = error_from_exception("x", exceptions.ServiceResponseError("Connection reset by peer"))
    assert error.code == "ServiceResponseError"


def test_decorator_interpolates_arguments():
    @azure_operation("get replication policy '{policy_name}' of vault '{vault_name}'")
    def get_policy(client, resource_group, vault_name, policy_name):
        raise http_error(500, {"error": {"code": "InternalServerError", "message": "boom"}})

    with pytest.raises(AzureModuleError) as caught:
        get_policy(None, "rg", "vault1", policy_name="p1")
    assert str(caught.value).startswith("Failed to get replication policy 'p1' of vault 'vault1' (InternalServerError): boom")


def test_context_manager_passes_other_exceptions():
    with pytest.raises(KeyError):
        with azure_errors("do something"):
            raise KeyError("not an Azure error")
    with pytest.raises(AzureModuleError, match="Failed to do something"):
        with azure_errors("do something"):
            raise http_error(409, {"error": {"code": "Conflict", "message": "busy"}})


def test_a_reader_declared_with_missing_returns_it_for_a_resource_azure_does_not_have():
    @azure_operation("get policy '{name}'", missing=None)
    def get_policy(name, error):
        raise error

    assert get_policy("p1", http_error(404, {"error": {"code": "NotFound", "message": "gone"}})) is None
    with pytest.raises(AzureModuleError, match=r"Failed to get policy 'p1' \(InternalError\)"):
        get_policy("p1", http_error(500, {"error": {"code": "InternalError", "message": "down"}}))


def test_a_call_declared_without_missing_fails_on_a_resource_azure_does_not_have():
    @azure_operation("delete policy '{name}'")
    def delete_policy(name):
        raise http_error(404, {"error": {"code": "NotFound", "message": "gone"}})

    with pytest.raises(AzureModuleError, match=r"Failed to delete policy 'p1' \(NotFound\)"):
        delete_policy("p1")
