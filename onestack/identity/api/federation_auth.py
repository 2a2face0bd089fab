"""Identity API: OS-FEDERATION's authentication paths, SAML2 and the deprecated scope listings.

Keystone federates through the web server in front of it (mod_shib, mod_auth_openidc), which
hands the IdP's assertion over in the request environment. onestack has no such module: no
request carries an assertion, no remote user and no dashboard is trusted, and no SAML2 IdP
is configured. Each path runs Keystone's checks in Keystone's order and answers what Keystone
answers when the assertion is missing (mostly 401); where Keystone itself fails with a 500
(SAML signing, metadata file) the answer is Keystone's 400 for an IdP left unconfigured.
"""

from __future__ import annotations

from typing import Any, NoReturn

from starlette.responses import Response

from onestack.core.api.faults import BadRequest, Unauthorized
from onestack.identity.api.auth import auth_domains, auth_projects, issue_token_for
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.service import federation, tokens

routes = IdentityRoutes()

EXT = "OS-FEDERATION"
_ID = {"type": "object", "properties": {"id": {"type": "string"}}, "required": ["id"], "additionalProperties": False}
# Keystone's federation schema ``saml_create``: a token to turn into an assertion for a service provider.
SAML_CREATE = {
    "type": "object",
    "properties": {
        "identity": {"type": "object", "properties": {"token": _ID, "methods": {"type": "array"}},
                     "required": ["token"], "additionalProperties": False},
        "scope": {"type": "object", "properties": {"service_provider": _ID}, "required": ["service_provider"],
                  "additionalProperties": False},
    },
    "required": ["identity", "scope"],
    "additionalProperties": False,
}
NO_SAML_IDP = "Ensure configuration option idp_entity_id is set."


@routes.get(f"/v3/{EXT}/projects")
async def federation_projects(req: Req) -> Response:
    """Deprecated alias of ``GET /v3/auth/projects``."""
    return await auth_projects(req)


@routes.get(f"/v3/{EXT}/domains")
async def federation_domains(req: Req) -> Response:
    """Deprecated alias of ``GET /v3/auth/domains``."""
    return await auth_domains(req)


@routes.add(["GET", "HEAD", "POST"], f"/v3/{EXT}/identity_providers/{{idp_id}}/protocols/{{protocol_id}}/auth")
async def federated_auth(req: Req) -> Response:
    """Keystone authenticates with the protocol's id as the method name (``mapped`` is the one it knows)."""
    protocol = req.path("protocol_id")
    body = {"auth": {"identity": {"methods": [protocol],
                                  protocol: {"identity_provider": req.path("idp_id"), "protocol": protocol}}}}
    return await issue_token_for(req, body)


@routes.add(["GET", "HEAD", "POST"], "/v3/auth/OS-FEDERATION/websso/{protocol_id}")
async def websso(req: Req) -> Response:
    # Keystone looks for the entity id of an IdP with this protocol in the web server's environment first.
    raise Unauthorized()


@routes.add(["GET", "HEAD", "POST"],
            "/v3/auth/OS-FEDERATION/identity_providers/{idp_id}/protocols/{protocol_id}/websso")
async def websso_for_idp(req: Req) -> Response:
    if not req.params.get("origin"):
        raise BadRequest("Request must have an origin query parameter")
    # No dashboard is trusted ([federation] trusted_dashboard is empty): Keystone answers 401.
    raise Unauthorized()


async def _saml_checks(req: Req) -> NoReturn:
    """Keystone's checks before it signs an assertion: the SP, then the token and its scope."""
    body = await req.json()
    req.validate(body, {"type": "object"})
    auth: Any = body.get("auth")
    req.validate(auth, SAML_CREATE)
    await req.read(federation.check_saml_service_provider, auth["scope"]["service_provider"]["id"])
    _, doc = await tokens.validate_payload(req.state, auth["identity"]["token"]["id"], include_catalog=False)
    federation.check_saml_token(doc)
    raise BadRequest(NO_SAML_IDP)


@routes.post("/v3/auth/OS-FEDERATION/saml2")
async def saml2_assertion(req: Req) -> Response:
    await _saml_checks(req)


@routes.post("/v3/auth/OS-FEDERATION/saml2/ecp")
async def saml2_ecp_assertion(req: Req) -> Response:
    await _saml_checks(req)


@routes.get(f"/v3/{EXT}/saml2/metadata")
async def saml2_metadata(req: Req) -> Response:
    raise BadRequest(NO_SAML_IDP)
