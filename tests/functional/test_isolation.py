"""Isolation: demo (member of project demo) against alt_demo's resources and against admin-only APIs.

Every route of every service is probed as demo, with alt_demo's ids (or an admin's objects)
in its path, and must answer as OpenStack does — Nova and Glance 404 for what the caller
cannot see, 403 where the resource is visible or the API is admin-only; Keystone 403 for
another user's or project's objects — in the service's error shape. Lists and filters by
alt_demo's project or user never show alt_demo's ids, every one of alt_demo's resources
reads back unchanged afterwards, and every probed route without a token answers 401. The tables (one ``register`` per service) live in
isolation_<service>.py, found by name; a coming service adds its own such module, and
``test_every_route_has_a_row`` fails until it does.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.isolation_support import (
    MATRICES,
    Actors,
    api_services,
    run_anonymous,
    run_matrix,
    served_routes,
)

# Every isolation_<service>.py beside this file registers its table when imported.
TABLES = [importlib.import_module(f"{__package__}.{p.stem}") for p in sorted(Path(__file__).parent.glob("isolation_*.py"))]


def test_every_route_has_a_row() -> None:
    """A route added without an isolation row (or a row left for a route that is gone) fails here."""
    assert sorted(MATRICES) == sorted(api_services()), "a service with an API has no isolation table"
    problems: list[str] = []
    for name, matrix in MATRICES.items():
        routes = served_routes(name)
        for method, template in routes:
            rows = [p for p in matrix.probes if p.matches(method, template)]
            if not rows:
                problems.append(f"{name}: {method} {template} has no isolation row")
            problems += [f"{name}: {method} {template} exempt without a reason"
                         for p in rows if p.expect is None and not p.why]
        problems += [f"{name}: row {p.methods} {p.path} matches no route" for p in matrix.probes
                     if not any(p.matches(m, t) for m, t in routes)]
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def actors(cloud: RunningCloud, admin: Any, demo: Any, alt: Any) -> Iterator[Actors]:
    admin_http, demo_http, alt_http = (
        httpx.Client(base_url=cloud.base_url, timeout=30, headers={"X-Auth-Token": conn.session.get_token()})
        for conn in (admin, demo, alt))
    anonymous_http = httpx.Client(base_url=cloud.base_url, timeout=30)
    clients = [admin_http, demo_http, alt_http, anonymous_http]
    yield Actors(admin_http, demo_http, alt_http, anonymous_http, admin=admin, demo=demo, alt=alt)
    for client in clients:
        client.close()


@pytest.mark.parametrize("service", sorted(MATRICES))
def test_demo_cannot_reach_alt_or_admin(service: str, actors: Actors) -> None:
    matrix = MATRICES[service]
    seeded = matrix.seed(actors)
    try:
        before = seeded.snapshot()
        outcome = run_matrix(actors.demo_http, matrix, seeded)
        anonymous = run_anonymous(actors.anonymous_http, matrix, seeded)
        after = seeded.snapshot()
    finally:
        seeded.clean()
    failures = outcome.failures + anonymous.failures
    print(f"\nisolation {service}: {outcome.probes} probes as demo, {anonymous.probes} without a token, "
          f"{len(failures)} failures")
    assert not failures, f"{len(failures)} of {outcome.probes + anonymous.probes} probes failed:\n" + "\n".join(
        failures)
    assert after == before, "alt_demo's resources changed under demo's probes"
    assert outcome.probes > len(served_routes(service)) // 2
