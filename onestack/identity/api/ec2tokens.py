"""``POST /v3/ec2tokens`` and ``POST /v3/s3tokens``: a token for a request signed with an EC2 credential.

As in Keystone these need no token of their own: the signature is the proof, and a wrong one
earns a 401 (the secret never leaves identity). ``?nocatalog`` leaves the catalog out, as for
``/v3/auth/tokens`` (Swift's s3api needs only the caller).
"""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.service import ec2tokens

routes = IdentityRoutes()


@routes.post("/v3/ec2tokens")
async def ec2_token(req: Req) -> Response:
    token, doc = await ec2tokens.authenticate(req.state, await req.json(), "ec2",
                                              include_catalog=not req.flag("nocatalog", False))
    return json_response({"token": doc}, headers={"X-Subject-Token": token})


@routes.post("/v3/s3tokens")
async def s3_token(req: Req) -> Response:
    token, doc = await ec2tokens.authenticate(req.state, await req.json(), "s3",
                                              include_catalog=not req.flag("nocatalog", False))
    return json_response({"token": doc}, headers={"X-Subject-Token": token})
