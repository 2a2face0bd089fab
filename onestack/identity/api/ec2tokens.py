"""``POST /v3/ec2tokens`` and ``POST /v3/s3tokens``: a token for a request signed with an EC2 credential.

As in Keystone these need no token of their own: the signature is the proof, and a wrong one
earns the same 401 as an unknown access key would (the secret never leaves identity).
"""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.identity.api.conventions import IdentityRoutes, Req
from onestack.identity.service import ec2tokens

routes = IdentityRoutes()


@routes.post("/v3/ec2tokens")
async def ec2_token(req: Req) -> Response:
    token, doc = await ec2tokens.authenticate(req.state, await req.json(), "ec2")
    return json_response({"token": doc}, headers={"X-Subject-Token": token})


@routes.post("/v3/s3tokens")
async def s3_token(req: Req) -> Response:
    token, doc = await ec2tokens.authenticate(req.state, await req.json(), "s3")
    return json_response({"token": doc}, headers={"X-Subject-Token": token})
