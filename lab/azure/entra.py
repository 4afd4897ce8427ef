"""Entra ID stand-in: OpenID discovery, the client-credentials token endpoint, cloud metadata.

What the real clients need (read in the msal and azure-identity sources, and observed against them):
MSAL with disable_instance_discovery GETs
`{authority}/{tenant}/v2.0/.well-known/openid-configuration` and needs its `authorization_endpoint`
and `token_endpoint`; it then POSTs the form `client_id, client_secret,
grant_type=client_credentials, scope` and needs `access_token` and `expires_in`. Errors are
`{"error", "error_description": "AADSTS…"}` (401 for a bad secret).

Tokens are JWTs signed with HS256 by a lab key. `iss` is `https://sts.windows.net/{tenant}/` and
`aud` the scope's resource, so Azurite's `--oauth basic` accepts the storage tokens (it checks
issuer prefix, audience, iat/nbf/exp but not the signature: Azurite's
blob/authentication/BlobTokenAuthenticator). Lifetimes are real-time seconds: azure-identity
compares them with the real clock.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qs

from lab.azure.state import Principal, Tenant
from lab.http import Request, Response, json_response

TOKEN_LIFETIME_S = 3600 + 299   # >= 1 hour even after azure-core's 300 s refresh window
MANAGEMENT_AUDIENCES = ("https://management.azure.com", "https://management.core.windows.net")
STORAGE_AUDIENCE = "https://storage.azure.com"


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class TokenClaims:
    principal: str       # object id
    client_id: str
    audience: str
    expires: int


class Entra:
    def __init__(self, tenant: Tenant, signing_key: bytes | None = None):
        self.tenant = tenant
        self._key = signing_key or secrets.token_bytes(32)
        self.base_url = ""          # https://127.0.0.1:PORT, set once the server listens
        self.tokens_issued = 0

    @property
    def signing_key(self) -> bytes:
        """The tokens' signing key: a resumed lab keeps it, so tokens issued before a restart stay valid."""
        return self._key

    # --- tokens ---

    def issue(self, principal: Principal, audience: str) -> tuple[str, int]:
        now = int(time.time())
        claims = {
            "aud": audience, "iss": f"https://sts.windows.net/{self.tenant.tenant_id}/",
            "iat": now, "nbf": now, "exp": now + TOKEN_LIFETIME_S,
            "appid": principal.client_id, "oid": principal.object_id, "sub": principal.object_id,
            "tid": self.tenant.tenant_id, "idtyp": "app", "ver": "1.0",
        }
        header = _b64url(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
        payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64url(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        self.tokens_issued += 1
        return f"{header}.{payload}.{signature}", TOKEN_LIFETIME_S

    def verify(self, token: str) -> TokenClaims | None:
        """The claims of a token this authority signed and that has not expired; else None."""
        try:
            header, payload, signature = token.split(".")
        except ValueError:
            return None
        expected = _b64url(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        if not hmac.compare_digest(expected, signature):
            return None
        claims = json.loads(_b64url_decode(payload))
        if claims["exp"] <= time.time():
            return None
        return TokenClaims(claims["oid"], claims["appid"], claims["aud"], claims["exp"])

    # --- HTTP ---

    async def handle(self, request: Request) -> Response:
        parts = [p for p in request.path.split("/") if p]
        if len(parts) >= 2 and parts[-2:] == [".well-known", "openid-configuration"]:
            return self._discovery(parts[0], v2="v2.0" in parts)
        if request.method == "POST" and parts[-1:] == ["token"] and "oauth2" in parts:
            return self._token(parts[0], request)
        return _aad_error(404, "invalid_request", f"AADSTS90002: no such endpoint {request.path}")

    def _discovery(self, tenant: str, v2: bool) -> Response:
        if tenant.lower() != self.tenant.tenant_id.lower():
            return _aad_error(400, "invalid_tenant", f"AADSTS90002: Tenant '{tenant}' not found.")
        suffix = "/v2.0" if v2 else ""
        base = f"{self.base_url}/{self.tenant.tenant_id}"
        issuer = (f"https://login.microsoftonline.com/{self.tenant.tenant_id}/v2.0" if v2
                  else f"https://sts.windows.net/{self.tenant.tenant_id}/")
        return json_response(200, {
            "token_endpoint": f"{base}/oauth2{suffix}/token",
            "authorization_endpoint": f"{base}/oauth2{suffix}/authorize",
            "device_authorization_endpoint": f"{base}/oauth2{suffix}/devicecode",
            "jwks_uri": f"{base}/discovery{suffix}/keys",
            "issuer": issuer,
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt", "client_secret_basic"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "tenant_region_scope": "NA",
            "cloud_instance_name": "microsoftonline.com",
        })

    def _token(self, tenant: str, request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(request.body.decode(), keep_blank_values=True).items()}
        if tenant.lower() != self.tenant.tenant_id.lower():
            return _aad_error(400, "invalid_request", f"AADSTS90002: Tenant '{tenant}' not found.")
        if form.get("grant_type") != "client_credentials":
            return _aad_error(400, "unsupported_grant_type",
                              "AADSTS70003: The app requested an unsupported grant type.")
        principal = self.tenant.principal(form.get("client_id", ""))
        if principal is None:
            return _aad_error(400, "unauthorized_client",
                              f"AADSTS700016: Application with identifier '{form.get('client_id')}' "
                              f"was not found in the directory '{self.tenant.tenant_id}'.")
        if not hmac.compare_digest(form.get("client_secret", ""), principal.secret):
            return _aad_error(401, "invalid_client",
                              "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent "
                              f"in the request is the client secret value, not the client secret ID, for a "
                              f"secret added to app '{principal.client_id}'.")
        # v2 endpoints take `scope` (".../.default"), v1 endpoints take `resource`.
        resource = form.get("resource") or form.get("scope", "").split(" ")[0].removesuffix("/.default")
        if not resource:
            return _aad_error(400, "invalid_scope", "AADSTS1002012: The provided value for scope is not valid.")
        token, lifetime = self.issue(principal, resource)
        return json_response(200, {"token_type": "Bearer", "expires_in": lifetime,
                                   "ext_expires_in": lifetime, "access_token": token})


def _aad_error(status: int, error: str, description: str) -> Response:
    return json_response(status, {"error": error, "error_description": description,
                                  "error_codes": [int(description[6:description.index(":")])]
                                  if description.startswith("AADSTS") else []})


def management_audience_ok(audience: str, arm_url: str) -> bool:
    """azure-mgmt clients ask for management.azure.com even with a custom base_url
    (their default credential_scopes, e.g. azure/mgmt/compute/_client.py); azure.azcollection asks for
    `{resource_manager}.default`."""
    wanted = audience.rstrip("/").lower()
    return wanted in MANAGEMENT_AUDIENCES or wanted == arm_url.rstrip("/").lower()


def cloud_metadata(arm_url: str, authority_url: str, storage_suffix: str, api_version: str | None) -> object:
    """`GET {arm}/metadata/endpoints`: what `cloud_environment: <url>` clients read.

    msrestazure's `get_cloud_from_metadata_endpoint` (used for Azure Stack style URLs) asks
    api-version 1.0 and reads galleryEndpoint, graphEndpoint, authentication.loginEndpoint and
    audiences[0]; azure-cli 2.x asks 2019-05-01 or later and reads a list of clouds with
    resourceManager, authentication and suffixes.storage.
    """
    arm = arm_url.rstrip("/") + "/"
    login = authority_url.rstrip("/") + "/"
    if api_version in (None, "", "1.0", "2015-01-01"):
        return {"galleryEndpoint": arm, "graphEndpoint": arm, "portalEndpoint": arm,
                "resourceManager": arm, "storageEndpointSuffix": storage_suffix,
                "authentication": {"loginEndpoint": login, "audiences": [arm, "https://management.azure.com/"]}}
    return [{
        "name": "AzMigrateLab", "portal": arm, "resourceManager": arm, "gallery": arm,
        "graph": arm, "graphAudience": arm, "microsoftGraphResourceId": arm, "sqlManagement": arm,
        "authentication": {"loginEndpoint": login, "audiences": [arm, "https://management.azure.com/"],
                           "tenant": "common", "identityProvider": "AAD"},
        "suffixes": {"storage": storage_suffix, "keyVaultDns": "vault.lab.invalid",
                     "acrLoginServer": "azurecr.lab.invalid", "sqlServerHostname": "database.lab.invalid"},
    }]
