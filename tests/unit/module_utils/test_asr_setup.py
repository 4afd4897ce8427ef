"""Setting a vault up: the registration key file, the log storage account checks, discovery status, and the
Migrate project's vault."""

import base64
import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.bodies import log_storage_body
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.setup import (
    certificate_name,
    describe_missing,
    discovery_done,
    discovery_status,
    log_storage_problems,
    match_host,
    read_registration_key,
    registration_key_xml,
    reusable_key_problems,
)
from ansible_collections.azmigrate.hyperv.plugins.module_utils._asr.vault import vault_from_solution

NOW = datetime.datetime(2026, 6, 2, 6, 0, tzinfo=datetime.timezone.utc)
SUB = "b364ed8d-4279-4bf8-8fd1-56f8fa0ae05c"
VAULT_ID = "/subscriptions/%s/resourceGroups/migrate-rg/providers/Microsoft.RecoveryServices/vaults/migrate-vault" % SUB
VAULT = {"id": VAULT_ID, "name": "migrate-vault", "location": "westeurope",
         "properties": {"privateEndpointStateForSiteRecovery": "None"}}
FABRIC = {"name": "hyperv-site",
          "properties": {"internalIdentifier": "f3ce4b50-831d-5af4-9c48-dcbc41521358",
                         "customDetails": {"instanceType": "HyperVSite"}}}


def pfx(valid_to):
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "CB_migrate-vault")])
    certificate = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
                   .serial_number(1).not_valid_before(NOW - datetime.timedelta(hours=1)).not_valid_after(valid_to)
                   .sign(key, hashes.SHA256()))
    return base64.b64encode(pkcs12.serialize_key_and_certificates(b"c", key, certificate, None,
                                                                  serialization.NoEncryption())).decode()


def answer(valid_to):
    return {"properties": {"certificate": pfx(valid_to), "resourceId": 5524196325126432000,
                           "aadAuthority": "https://login.microsoftonline.com", "aadTenantId": "tenant",
                           "servicePrincipalClientId": "client", "aadAudience": "https://RecoveryServiceVault/x",
                           "azureManagementEndpointAudience": "https://management.azure.com/"}}


def test_certificate_name_is_the_portal_s():
    assert certificate_name("migrate-vault", NOW) == "CN=CB_migrate-vault-2-06-2026-vaultcredentials"


def test_key_xml_names_vault_site_and_certificate_and_reads_back():
    xml = registration_key_xml(VAULT, answer(NOW + datetime.timedelta(hours=120)), FABRIC)
    assert xml.startswith('<?xml version="1.0" encoding="utf-8"?><RSVaultAsrCreds')
    for element in ("<SubscriptionId>%s</SubscriptionId>" % SUB, "<ResourceGroup>migrate-rg</ResourceGroup>",
                    "<ResourceName>migrate-vault</ResourceName>", "<ResourceId>5524196325126432000</ResourceId>",
                    "<Location>westeurope</Location>", "<ProviderNamespace>Microsoft.RecoveryServices</ProviderNamespace>",
                    "<Version>2.0</Version>", "<AadTenantId>tenant</AadTenantId>",
                    "<SiteId>f3ce4b50-831d-5af4-9c48-dcbc41521358</SiteId>", "<SiteName>hyperv-site</SiteName>"):
        assert element in xml
    key = read_registration_key(xml)
    assert (key["vault_name"], key["resource_group"], key["site_name"]) == ("migrate-vault", "migrate-rg", "hyperv-site")
    assert key["valid_to"] == NOW + datetime.timedelta(hours=120)


def test_a_key_is_kept_only_for_the_same_vault_and_site_while_valid_beyond_the_margin():
    key = read_registration_key(registration_key_xml(VAULT, answer(NOW + datetime.timedelta(hours=120)), FABRIC))
    assert reusable_key_problems(key, VAULT, FABRIC, NOW, 24) == []
    assert "expires" in reusable_key_problems(key, VAULT, FABRIC, NOW + datetime.timedelta(hours=100), 24)[0]
    other_site = {"name": "other", "properties": {"internalIdentifier": "0000"}}
    assert "site hyperv-site" in reusable_key_problems(key, VAULT, other_site, NOW, 24)[0]
    other_vault = dict(VAULT, id=VAULT["id"].replace("migrate-vault", "vault-2"), name="vault-2")
    assert "vault migrate-rg/migrate-vault" in reusable_key_problems(key, other_vault, FABRIC, NOW, 24)[0]
    assert reusable_key_problems(read_registration_key("not xml"), VAULT, FABRIC, NOW, 24) == [
        "the file is not a vault credentials file"]


def test_log_storage_account_must_be_standard_general_purpose_in_the_target_region():
    good = {"location": "westeurope", "kind": "StorageV2", "sku": {"name": "Standard_LRS"}}
    assert log_storage_problems(good, "West Europe") == []
    assert len(log_storage_problems(dict(good, location="eastus"), "westeurope")) == 1
    assert "kind is BlobStorage" in log_storage_problems(dict(good, kind="BlobStorage"), "westeurope")[0]
    assert "SKU is Premium_LRS" in log_storage_problems(dict(good, sku={"name": "Premium_LRS"}), "westeurope")[0]
    body = log_storage_body("westeurope", "Standard_LRS", None)
    assert body["kind"] == "StorageV2" and body["properties"]["minimumTlsVersion"] == "TLS1_2"
    assert body["properties"]["allowBlobPublicAccess"] is False


def provider(fqdn, status="Connected"):
    return {"name": "p-" + fqdn, "properties": {"friendlyName": fqdn, "connectionStatus": status}}


def protectable(name, vm_id):
    return {"name": vm_id, "id": "/x/replicationFabrics/site/replicationProtectionContainers/c/items/" + vm_id,
            "properties": {"friendlyName": name, "protectionStatus": "Unprotected"}}


def test_hosts_match_by_short_or_full_name():
    assert match_host("HV01", provider("hv01.contoso.local"))
    assert match_host("hv01.contoso.local", provider("HV01.contoso.local"))
    assert not match_host("hv01.fabrikam.local", provider("hv01.contoso.local"))
    assert not match_host("HV011", provider("hv01.contoso.local"))


def test_discovery_status_names_what_is_missing():
    providers = [provider("HV01.contoso.local"), provider("HV02.contoso.local", "NotConnected")]
    items = [protectable("web01", "1111")]
    status = discovery_status(["HV01", "HV02", "HV03"], ["web01", "2222", "app01"], providers, items)
    assert status["missing_hosts"] == ["HV03"] and status["disconnected_hosts"] == ["HV02"]
    assert status["missing_vms"] == ["2222", "app01"] and [v["name"] for v in status["vms"]] == ["web01"]
    assert not discovery_done(status)
    assert describe_missing(status) == ("hosts not registered to the site: HV03; hosts registered but not Connected: "
                                        "HV02; VMs the vault has not discovered: 2222, app01")
    done = discovery_status(["HV01"], ["1111"], providers, items)
    assert discovery_done(done) and done["vms"][0]["name"] == "web01"


def test_the_server_migration_solution_names_the_vault():
    vault_id = "/subscriptions/%s/resourceGroups/rg-vault/providers/Microsoft.RecoveryServices/vaults/p-MigrateVault-1" % SUB
    solution = {"properties": {"details": {"extendedDetails": {"vaultId": vault_id}}}}
    assert vault_from_solution(solution) == ("rg-vault", "p-MigrateVault-1")
    assert vault_from_solution({"properties": {"details": {"extendedDetails": {}}}}) is None
    assert vault_from_solution({}) is None
