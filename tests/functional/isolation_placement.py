"""Placement's rows of the isolation matrix (test_isolation.py): every API but the root is admin's (403)."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.isolation_support import (
    Actors,
    Probe,
    Seeded,
    ServiceMatrix,
    ok,
    placement_shape,
    register,
    view,
)

LATEST = {"OpenStack-API-Version": "placement latest"}


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    admin = a.admin_http
    providers = ok(admin.get("/placement/resource_providers", headers=LATEST))["resource_providers"]
    ids["provider"] = providers[0]["uuid"]
    usage = ok(admin.get(f"/placement/resource_providers/{ids['provider']}/allocations", headers=LATEST))
    ids["consumer"] = next(iter(usage["allocations"]), str(uuid.uuid4()))
    ids.update(rc="VCPU", trait="HW_CPU_X86_AVX", custom="CUSTOM_ISO_PROBE")

    def snapshot() -> Any:
        rp = f"/placement/resource_providers/{ids['provider']}"
        return [view(admin.get(rp + path, headers=LATEST)) for path in ("", "/inventories", "/traits", "/aggregates")]

    return Seeded(ids, set(), snapshot)


P = {"uuid": "provider", "consumer_uuid": "consumer", "resource_class": "rc"}
ROWS: tuple[Probe, ...] = (
    Probe("GET", r"/", None, "the version document: the same for every caller"),
    Probe("GET", r"/(allocation_candidates|resource_classes|traits|usages|resource_providers)", 403,
          query="resources=VCPU:1&project_id={alt_project}"),
    Probe("POST", r"/(reshaper|resource_classes|allocations|resource_providers)", 403, body={"name": "CUSTOM_X"}),
    Probe("GET PUT DELETE", r"/resource_classes/\{name\}", 403, params={"name": "custom"}),
    Probe("GET PUT DELETE", r"/traits/\{name\}", 403, params={"name": "trait"}),
    Probe("GET PUT DELETE POST", r"/resource_providers/\{uuid\}(/\w+)?", 403, params=P, body={}),
    Probe("GET PUT DELETE", r"/resource_providers/\{uuid\}/inventories/\{resource_class\}", 403, params=P, body={}),
    Probe("GET PUT DELETE", r"/allocations/\{consumer_uuid\}", 403, params=P, body={}),
)

MATRIX = register(ServiceMatrix(service="placement", prefix="/placement", error=placement_shape, seed=seed,
                                probes=ROWS, headers=LATEST))
