"""The machinery of the isolation matrix (test_isolation.py): routes from the routers, probes, checks.

A service's part of the matrix is one ``ServiceMatrix``: a ``seed`` that creates, as alt_demo
(and as admin for what only an admin makes), one resource of every kind the service has and
returns their ids; and ``Probe`` rows, each matching routes of the service by method and path
template, saying what demo must get there. Every route the service's router serves must be
matched by a row — an expected status, or an exemption that says why — so a route added
without one fails ``test_every_route_has_a_row``; a row matching no route fails it too.
"""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from onestack.server import SERVICES

Ids = dict[str, str]
Body = Any  # a JSON document, or a function of the seeded ids returning one
ErrorCheck = Callable[[httpx.Response, int], str]  # "" when the error is in the service's shape


@dataclass(frozen=True)
class Probe:
    """What demo gets from the routes ``methods`` × ``path`` (a regex over the route's template).

    ``expect`` None exempts the routes, and ``why`` must then say why they cannot leak. Path
    parameters are filled from the seeded ids by name, or through ``params`` (parameter → id
    name). No answer (errors included) may hold an id of alt_demo's that the request did not name.
    """

    methods: str
    path: str
    expect: int | None
    why: str = ""
    body: Body = None
    query: str = ""
    params: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)
    # A list demo reads is also asked with the matrix's filters; False for static documents.
    sweep: bool = True

    def matches(self, method: str, template: str) -> bool:
        return method in self.methods.split() and re.fullmatch(self.path, template) is not None


@dataclass
class Actors:
    """Raw HTTP clients (tokens of the three users) and the sdk connections they came from."""

    admin_http: httpx.Client
    demo_http: httpx.Client
    alt_http: httpx.Client
    anonymous_http: httpx.Client
    admin: Any
    demo: Any
    alt: Any

    def ids(self) -> Ids:
        return {"alt_project": self.alt.current_project_id, "alt_user": self.alt.current_user_id,
                "demo_project": self.demo.current_project_id, "demo_user": self.demo.current_user_id,
                "admin_project": self.admin.current_project_id, "admin_user": self.admin.current_user_id}


def ok(resp: httpx.Response, *codes: int) -> Any:
    """The JSON of a seeding call that must succeed (or None for an empty answer)."""
    assert resp.status_code in (codes or (200, 201, 202, 204)), f"{resp.request.method} {resp.request.url}: {resp.text}"
    return resp.json() if resp.content and resp.headers.get("content-type", "").startswith("application/") else None


def view(resp: httpx.Response) -> Any:
    """A snapshot's reading: the status and the JSON, so a resource gone or refused shows as a change."""
    return resp.status_code, ok(resp, resp.status_code)


@dataclass
class Seeded:
    """What a seed made: path parameter values, the ids demo must never see, and alt's view of it all."""

    ids: Ids
    secrets: set[str]
    snapshot: Callable[[], Any]
    # Requests (client, method, path[, body]) that remove what the seed made: the cloud is shared.
    cleanup: list[tuple[Any, ...]] = field(default_factory=list)

    def clean(self) -> None:
        for client, method, path, *body in self.cleanup:
            client.request(method, path, json=body[0] if body else None)


@dataclass(frozen=True)
class ServiceMatrix:
    service: str  # the ServiceDefinition's name in onestack.server.SERVICES
    prefix: str  # where the service is mounted
    error: ErrorCheck
    seed: Callable[[Actors], Seeded]
    probes: tuple[Probe, ...]
    headers: Mapping[str, str] = field(default_factory=dict)
    # Path parameter → seeded id name, for every row (a row's own ``params`` win).
    params: Mapping[str, str] = field(default_factory=dict)
    # Query strings tried on every list route demo may read (values may name seeded ids as {id}).
    filters: tuple[str, ...] = ()
    # Routes that answer without a token (``why`` says why); every other probed route must 401.
    public: tuple[Probe, ...] = ()


MATRICES: dict[str, ServiceMatrix] = {}


def register(matrix: ServiceMatrix) -> ServiceMatrix:
    """A coming service's isolation rows: one call at the bottom of its table."""
    MATRICES[matrix.service] = matrix
    return matrix


def served_routes(service: str) -> list[tuple[str, str]]:
    """(method, path template) of every route the service's API serves, read from its router modules."""
    definition = next(d for d in SERVICES if d.name == service)
    app_module = importlib.import_module(definition.build.__module__)
    modules = getattr(app_module, "API_MODULES", None)
    assert modules is not None, f"{service}: {app_module.__name__} has no API_MODULES to read its routes from"
    routes: list[tuple[str, str]] = []
    for module in modules:
        for route in module.routes.routes:
            routes += [(m, route.path) for m in sorted(route.methods - {"HEAD"})]
    return routes


def api_services() -> list[str]:
    """Every registered service that serves an HTTP API (has a catalog entry)."""
    return [d.name for d in SERVICES if d.catalog]


def fill(text: str, ids: Ids, aliases: Mapping[str, str] | None = None) -> str:
    """``{param}`` in a path or query → the seeded id it names (directly or through ``aliases``)."""
    def value(match: re.Match[str]) -> str:
        name = (aliases or {}).get(match.group(1), match.group(1))
        if name not in ids:
            raise KeyError(f"no seeded id {name!r} for {text}")
        return ids[name]

    return re.sub(r"\{(\w+)\}", value, text)


@dataclass
class Outcome:
    probes: int = 0
    failures: list[str] = field(default_factory=list)

    def check(self, label: str, passed: bool, detail: str = "") -> None:
        self.probes += 1
        if not passed:
            self.failures.append(f"{label}: {detail}")


def leaked(resp: httpx.Response, secrets: set[str]) -> list[str]:
    """alt_demo's ids in an answer (errors too) that demo did not name in its request."""
    asked = str(resp.request.url) + resp.request.content.decode(errors="replace")
    asked += " ".join(resp.request.headers.values())
    return sorted(s for s in secrets if s in resp.text and s not in asked)


def send(client: httpx.Client, matrix: ServiceMatrix, seeded: Seeded, probe: Probe, method: str,
         template: str) -> tuple[str, httpx.Response]:
    """The probe's request on one route; returns its label and the answer."""
    path = fill(template, seeded.ids, {**matrix.params, **probe.params})
    url = matrix.prefix + path + ("?" + fill(probe.query, seeded.ids) if probe.query else "")
    body = probe.body(seeded.ids) if callable(probe.body) else probe.body
    headers = {**matrix.headers, **{k: fill(v, seeded.ids) for k, v in probe.headers.items()}}
    content = None if body is None else json.dumps(body).encode()
    if content is not None:
        headers.setdefault("Content-Type", "application/json")
    return f"{method} {url}", client.request(method, url, content=content, headers=headers)


def judge(matrix: ServiceMatrix, seeded: Seeded, label: str, resp: httpx.Response, expect: int | None,
          outcome: Outcome) -> None:
    """``expect`` (any status below 500 when None); an error in the service's shape; no id of alt's."""
    found = leaked(resp, seeded.secrets)
    if resp.status_code != expect and (expect is not None or resp.status_code >= 500):
        outcome.check(label, False, f"expected {expect or 'no 5xx'}, got {resp.status_code}: {resp.text[:300]}")
    elif found:
        outcome.check(label, False, f"answer holds alt_demo's {found}")
    elif resp.status_code >= 400:
        problem = matrix.error(resp, resp.status_code)
        outcome.check(label, not problem, problem)
    else:
        outcome.check(label, True)


def run_filters(client: httpx.Client, matrix: ServiceMatrix, seeded: Seeded, template: str,
                outcome: Outcome) -> None:
    """A list demo may read, asked for another project's or user's rows: refused, or none of alt's."""
    for query in matrix.filters:
        probe = Probe("GET", template, 200, query=query)
        judge(matrix, seeded, *send(client, matrix, seeded, probe, "GET", template), None, outcome)


def run_matrix(client: httpx.Client, matrix: ServiceMatrix, seeded: Seeded) -> Outcome:
    outcome = Outcome()
    for method, template in served_routes(matrix.service):
        rows = [p for p in matrix.probes if p.matches(method, template)]
        for probe in rows:
            if probe.expect is not None:
                judge(matrix, seeded, *send(client, matrix, seeded, probe, method, template), probe.expect, outcome)
        if method == "GET" and "{" not in template and any(p.expect == 200 and p.sweep and not p.query for p in rows):
            run_filters(client, matrix, seeded, template, outcome)
    return outcome


def run_anonymous(client: httpx.Client, matrix: ServiceMatrix, seeded: Seeded) -> Outcome:
    """Every probed route without a token: 401 in the service's shape, unless the matrix calls it public."""
    outcome = Outcome()
    for method, template in served_routes(matrix.service):
        rows = [p for p in matrix.probes if p.matches(method, template) and p.expect is not None]
        if rows and not any(p.matches(method, template) for p in matrix.public):
            judge(matrix, seeded, *send(client, matrix, seeded, rows[0], method, template), 401, outcome)
    return outcome


# --- each family's error shape ------------------------------------------------------------------

def _json(resp: httpx.Response) -> Any:
    try:
        return resp.json()
    except ValueError:
        return None


def keystone_shape(resp: httpx.Response, code: int) -> str:
    body = _json(resp)
    ok = (isinstance(body, dict) and set(body) == {"error"} and body["error"].get("code") == code
          and isinstance(body["error"].get("message"), str) and bool(body["error"].get("title")))
    return "" if ok else f"not a Keystone error: {resp.text[:200]}"


NOVA_NAMES = {400: "badRequest", 401: "unauthorized", 403: "forbidden", 404: "itemNotFound", 409: "conflictingRequest",
              410: "computeFault"}  # Nova names no fault for 410 (its removed APIs): the default


def nova_shape(resp: httpx.Response, code: int) -> str:
    body = _json(resp)
    name = NOVA_NAMES.get(code, "")
    ok = (isinstance(body, dict) and list(body) == [name] and body[name].get("code") == code
          and isinstance(body[name].get("message"), str))
    return "" if ok else f"not a Nova {name} error: {resp.text[:200]}"


def glance_shape(resp: httpx.Response, code: int) -> str:
    ok = resp.headers.get("content-type", "").startswith("text/plain") and resp.text.startswith(f"{code} ")
    return "" if ok else f"not a Glance error: {resp.text[:200]}"


def placement_shape(resp: httpx.Response, code: int) -> str:
    body = _json(resp)
    ok = (isinstance(body, dict) and list(body) == ["errors"] and len(body["errors"]) == 1
          and body["errors"][0].get("status") == code and bool(body["errors"][0].get("request_id")))
    return "" if ok else f"not a placement error: {resp.text[:200]}"
