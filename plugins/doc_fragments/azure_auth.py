# -*- coding: utf-8 -*-
# Copyright: Contributors to the azmigrate.hyperv collection
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)


class ModuleDocFragment(object):
    """Authentication options of the Azure-side modules (plugins/module_utils/_azure_auth.py)."""

    DOCUMENTATION = r"""
options:
  auth_source:
    description:
      - Where the credentials come from, as in azure.azcollection.
      - V(auto) tries, in order, the O(profile) option, the options themselves when O(client_id) or O(ad_user)
        is given, the environment when E(AZURE_PROFILE) or E(AZURE_SUBSCRIPTION_ID) is set, the V(default)
        profile of C(~/.azure/credentials) when it has a C(subscription_id), and the Azure CLI's login when
        C(az) is installed.
      - V(env) reads the E(AZURE_*) variables listed with each option (E(AZURE_PROFILE) names a profile).
      - V(credential_file) reads profile O(profile) (or V(default)) of C(~/.azure/credentials), an INI file whose
        keys are these options' names.
      - V(msi) uses the managed identity of the machine running the task; O(client_id) picks a user-assigned one.
      - V(cli) uses the login of the Azure CLI (C(az login)), which must be installed; the subscription is the
        CLI's current one unless O(subscription_id) is given.
      - When not given, the E(ANSIBLE_AZURE_AUTH_SOURCE) environment variable, then V(auto).
    type: str
    choices: [auto, cli, credential_file, env, msi]
    default: auto
  profile:
    description:
      - Profile (section) of C(~/.azure/credentials) to read the credentials from.
      - Environment variable E(AZURE_PROFILE).
    type: str
  subscription_id:
    description:
      - Azure subscription of the Recovery Services vault and the target resources.
      - When given, it wins over the subscription of the credential source.
      - Environment variable E(AZURE_SUBSCRIPTION_ID).
    type: str
  client_id:
    description:
      - Application (client) id of the service principal; with O(auth_source=msi), the client id of a
        user-assigned managed identity.
      - Environment variable E(AZURE_CLIENT_ID).
    type: str
  secret:
    description:
      - Client secret of the service principal (the secret's value, not its id).
      - Environment variable E(AZURE_SECRET).
    type: str
  tenant:
    description:
      - Entra ID tenant of the service principal, as its directory id (a GUID) or one of its domain names
        (V(contoso.onmicrosoft.com)); anything else is refused before any request.
      - Environment variable E(AZURE_TENANT).
    type: str
  ad_user:
    description:
      - User name for username/password authentication (accounts without multi-factor authentication only).
      - Environment variable E(AZURE_AD_USER).
    type: str
  password:
    description:
      - Password of O(ad_user).
      - Environment variable E(AZURE_PASSWORD).
    type: str
  x509_certificate_path:
    description:
      - Path to a PEM file with the service principal's certificate and private key, used with O(client_id) and
        O(tenant) instead of O(secret).
      - Environment variable E(AZURE_X509_CERTIFICATE_PATH).
    type: path
  thumbprint:
    description:
      - Thumbprint of the certificate in O(x509_certificate_path), accepted for compatibility with
        azure.azcollection; the certificate file itself identifies the certificate.
      - Environment variable E(AZURE_THUMBPRINT).
    type: str
  cloud_environment:
    description:
      - The Azure cloud, by name (V(AzureCloud), V(AzureChinaCloud), V(AzureUSGovernment)) or by the https URL
        of its Resource Manager endpoint, whose C(/metadata/endpoints) document gives the login endpoint and
        token audience (Azure Stack Hub and other private clouds).
      - An V(http://) URL, or metadata naming V(http://) endpoints, is refused, since credentials and tokens travel over
        https only.
      - When not given, the credential source's value, then E(AZURE_CLOUD_ENVIRONMENT), then V(AzureCloud).
    type: str
  adfs_authority_url:
    description:
      - Authority URL for ADFS (Azure Stack Hub with ADFS), an V(https://) URL; by default the cloud's login
        endpoint.
      - Environment variable E(AZURE_ADFS_AUTHORITY_URL).
    type: str
  cert_validation_mode:
    description:
      - V(validate) checks the TLS certificates of the login, Resource Manager and storage endpoints;
        V(ignore) does not, and is meant only for test endpoints.
      - When not given, the credential source's value, then E(AZURE_CERT_VALIDATION_MODE), then V(validate).
    type: str
    choices: [validate, ignore]
  ca_cert:
    description:
      - Path to a PEM bundle of the certificate authorities to trust for the Azure endpoints, for private clouds
        whose certificates are not signed by a public authority. Checked to be an existing, readable file.
      - When not given, the E(REQUESTS_CA_BUNDLE) environment variable is honoured, then the bundled authorities.
    type: path
  disable_instance_discovery:
    description:
      - Skip Entra ID's instance discovery and authority validation when getting a token; needed for a login
        endpoint that Entra ID does not know (Azure Stack Hub, ADFS, private clouds).
      - When not given, the credential source's value, then E(AZURE_DISABLE_INSTANCE_DISCOVERY), then V(false).
    type: bool
requirements:
  - python >= 3.11 (on the controller, where the modules run)
  - azure-identity >= 1.19.0
  - azure-core >= 1.31.0
  - azure-mgmt-core >= 1.4.0
notes:
  - Authentication is compatible with azure.azcollection's options, environment variables, C(~/.azure/credentials)
    profiles and O(auth_source) values, but does not need C(azure-cli-core); its C(api_profile), C(log_mode) and
    C(log_path) options are not supported.
  - "Set the options once for every Azure-side module of this collection with
    C(module_defaults: {group/azmigrate.hyperv.azure: {...}})."
  - "The modules run where the task runs; delegate them to the controller (C(delegate_to: localhost)) in plays
    that target Hyper-V hosts."
"""

    ACTION_GROUP = r"""
attributes:
  action_group:
    description: Use C(group/azmigrate.hyperv.azure) in C(module_defaults) to set defaults for this module.
    support: full
    membership:
      - azmigrate.hyperv.azure
"""
