"""GET /allocation_candidates (1.10) with granular request groups (1.25+)."""

from __future__ import annotations

import re
from typing import Any

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.placement.api.common import PlacementRoutes, Req, V
from onestack.placement.service import candidates
from onestack.placement.service.candidates import CandidateQuery, RequestGroup
from onestack.placement.service.common import QUERY_BAD_VALUE, bad_request
from onestack.placement.service.query import parse_member_of, parse_required, parse_resources

routes = PlacementRoutes()
# Minimum microversion (minor) of each unsuffixed parameter.
PARAMS = {"resources": 10, "limit": 16, "required": 17, "member_of": 21, "group_policy": 25, "in_tree": 31,
          "root_required": 35, "same_subtree": 36}
GROUP_KEYS = ("resources", "required", "member_of", "in_tree")
_GRANULAR = re.compile(r"^(resources|required|member_of|in_tree)([a-zA-Z0-9_-]{1,64})$")


def _suffix_ok(req: Req, key: str, suffix: str) -> bool:
    if not req.at_least(1, 25) or (key == "in_tree" and not req.at_least(1, 31)):
        return False
    return suffix.isdigit() or req.at_least(1, 33)


def _group_params(req: Req) -> dict[str, dict[str, list[str]]]:
    groups: dict[str, dict[str, list[str]]] = {}
    unknown = []
    for key in req.params:
        values = req.params.getlist(key)
        if key in PARAMS:
            if not req.at_least(1, PARAMS[key]):
                unknown.append(key)
            elif key in GROUP_KEYS:
                groups.setdefault("", {})[key] = values
            continue
        match = _GRANULAR.match(key)
        if match and _suffix_ok(req, match.group(1), match.group(2)):
            groups.setdefault(match.group(2), {})[match.group(1)] = values
        else:
            unknown.append(key)
    if unknown:
        raise bad_request(f"Invalid query string parameters: Additional properties are not allowed "
                          f"({', '.join(repr(k) for k in sorted(unknown))} unexpected)")
    return groups


def _group(req: Req, suffix: str, raw: dict[str, list[str]]) -> RequestGroup:
    g = RequestGroup(suffix=suffix)
    if "resources" in raw:
        if len(raw["resources"]) > 1:
            raise bad_request(f"Query parameter resources{suffix} may be given only once.", QUERY_BAD_VALUE)
        g.resources = parse_resources(raw["resources"][0], f"resources{suffix}")
    if "required" in raw:
        g.required = parse_required(raw["required"], req.mv, f"required{suffix}")
    if "member_of" in raw:
        g.member_of = parse_member_of(raw["member_of"], req.mv)
    if "in_tree" in raw:
        g.in_tree = raw["in_tree"][-1]
    if not g.resources and (suffix == "" or not req.at_least(1, 35)):
        if suffix == "" and not raw:
            return g
        raise bad_request(f"All request groups must specify resources. Group '{suffix}' does not.",
                          QUERY_BAD_VALUE)
    return g


def parse(req: Req) -> CandidateQuery:
    raw = _group_params(req)
    groups = [_group(req, sfx, params) for sfx, params in sorted(raw.items())]
    groups = [g for g in groups if g.suffix or g.resources]
    if not groups:
        raise bad_request("Invalid query string parameters: 'resources' is a required property", QUERY_BAD_VALUE)
    q = CandidateQuery(groups=groups, max_candidates=req.state.config.placement.max_allocation_candidates)
    p = req.params
    if "limit" in p:
        if not p["limit"].isdigit() or int(p["limit"]) < 1:
            raise bad_request(f"Invalid query string parameters: limit must be a positive integer: {p['limit']}")
        q.limit = int(p["limit"])
    if "group_policy" in p:
        if p["group_policy"] not in ("none", "isolate"):
            raise bad_request(f"Invalid query string parameters: group_policy must be none or isolate, got "
                              f"{p['group_policy']!r}")
        q.group_policy = p["group_policy"]
    elif sum(1 for g in groups if g.suffix) > 1:
        raise bad_request("The \"group_policy\" parameter is required when specifying more than one "
                          "\"resources{N}\" parameter.", QUERY_BAD_VALUE)
    if "root_required" in p:
        q.root_required = parse_required(p.getlist("root_required"), req.mv, "root_required")
    for value in p.getlist("same_subtree"):
        suffixes = [x.strip() for x in value.split(",")]
        if any(sfx not in raw for sfx in suffixes):
            raise bad_request(f"Real suffixes should be specified in same_subtree: {value}", QUERY_BAD_VALUE)
        q.same_subtree.append(suffixes)
    return q


def _request_body(req: Req, cand: candidates.Candidate) -> dict[str, Any]:
    if not req.at_least(1, 12):
        return {"allocations": [{"resource_provider": {"uuid": rp}, "resources": res}
                                for rp, res in cand.allocations.items()]}
    body: dict[str, Any] = {"allocations": {rp: {"resources": res} for rp, res in cand.allocations.items()}}
    if req.at_least(1, 34):
        body["mappings"] = cand.mappings
    return body


def _summary(req: Req, entry: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"resources": entry["resources"]}
    if req.at_least(1, 17):
        out["traits"] = entry["traits"]
    if req.at_least(1, 29):
        out["parent_provider_uuid"] = entry["parent_provider_uuid"]
        out["root_provider_uuid"] = entry["root_provider_uuid"]
    return out


@routes.get("/allocation_candidates", rule="placement:allocation_candidates:list", since=V(10))
async def allocation_candidates(req: Req) -> Response:
    q = parse(req)
    found, snap = await req.read(candidates.find, q)
    requested = {rc for g in q.groups for rc in g.resources}
    summaries = candidates.summaries(snap, found, requested, all_classes=req.at_least(1, 27),
                                     whole_trees=req.at_least(1, 29))
    return json_response({
        "allocation_requests": [_request_body(req, c) for c in found],
        "provider_summaries": {rp: _summary(req, entry) for rp, entry in summaries.items()},
    })
