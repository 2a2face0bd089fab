"""Placement through the `openstack` CLI and its osc-placement plugin."""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import RunningCloud

V = ("--os-placement-api-version", "1.39")


def cli(cloud: RunningCloud, *args: str, **kw: Any) -> Any:
    return cloud.cli(*V, *args, **kw)


def test_provider_lifecycle(cloud: RunningCloud) -> None:
    name = f"cli-rp-{uuid.uuid4().hex[:8]}"
    created = cli(cloud, "resource", "provider", "create", name)
    rp = created["uuid"]
    assert created["name"] == name and created["generation"] == 0 and created["root_provider_uuid"] == rp
    child = cli(cloud, "resource", "provider", "create", f"{name}-child", "--parent-provider", rp)
    assert child["parent_provider_uuid"] == rp
    listed = cli(cloud, "resource", "provider", "list", "--name", name)
    assert [r["uuid"] for r in listed] == [rp]
    renamed = cli(cloud, "resource", "provider", "set", rp, "--name", name + "-x")
    assert renamed["name"] == name + "-x"
    shown = cli(cloud, "resource", "provider", "show", rp)
    assert shown["name"] == name + "-x"
    cli(cloud, "resource", "provider", "delete", child["uuid"], json_out=False)
    cli(cloud, "resource", "provider", "delete", rp, json_out=False)
    gone = cli(cloud, "resource", "provider", "show", rp, check=False)
    assert gone.returncode != 0 and "No resource provider" in gone.stderr


def test_inventory_and_candidates(cloud: RunningCloud) -> None:
    rp = cli(cloud, "resource", "provider", "create", f"cli-inv-{uuid.uuid4().hex[:8]}")["uuid"]
    rows = cli(cloud, "resource", "provider", "inventory", "set", rp, "--resource", "VCPU=8",
               "--resource", "VCPU:allocation_ratio=2.0", "--resource", "MEMORY_MB=4096")
    by_class = {row["resource_class"]: row for row in rows}
    assert by_class["VCPU"]["total"] == 8 and by_class["VCPU"]["allocation_ratio"] == 2.0
    listed = cli(cloud, "resource", "provider", "inventory", "list", rp)
    assert {row["resource_class"] for row in listed} == {"VCPU", "MEMORY_MB"}
    trait = f"CUSTOM_CLI_{uuid.uuid4().hex[:8].upper()}"
    cli(cloud, "trait", "create", trait, json_out=False)
    traits = cli(cloud, "resource", "provider", "trait", "set", rp, "--trait", trait)
    assert [t["name"] for t in traits] == [trait]
    found = cli(cloud, "allocation", "candidate", "list", "--resource", "VCPU=12", "--required", trait)
    assert len(found) >= 1 and all(rp in str(row["allocation"]) or rp == row.get("resource provider")
                                   for row in found)
    assert cli(cloud, "allocation", "candidate", "list", "--resource", "VCPU=17", "--required", trait) == []
    consumer = str(uuid.uuid4())
    cli(cloud, "resource", "provider", "allocation", "set", consumer, "--allocation", f"rp={rp},VCPU=4",
        "--project-id", uuid.uuid4().hex, "--user-id", uuid.uuid4().hex, "--consumer-type", "INSTANCE")
    usage = {row["resource_class"]: row["usage"] for row in cli(cloud, "resource", "provider", "usage", "show", rp)}
    assert usage["VCPU"] == 4
    cli(cloud, "resource", "provider", "allocation", "delete", consumer, json_out=False)


def test_resource_classes_and_traits(cloud: RunningCloud) -> None:
    name = f"CUSTOM_CLI_{uuid.uuid4().hex[:8].upper()}"
    cli(cloud, "resource", "class", "create", name, json_out=False)
    assert name in [row["name"] for row in cli(cloud, "resource", "class", "list")]
    assert cli(cloud, "resource", "class", "show", name)["name"] == name
    cli(cloud, "resource", "class", "delete", name, json_out=False)
    assert cli(cloud, "resource", "class", "show", name, check=False).returncode != 0
    standard = [row["name"] for row in cli(cloud, "trait", "list")]
    assert "HW_CPU_X86_AVX2" in standard and "COMPUTE_STATUS_DISABLED" in standard
