from __future__ import annotations

from tests.unit.compute.scheduler.helpers import aggregate, host


def test_free_values_honour_allocation_ratio_and_reserved() -> None:
    h = host(vcpus_total=8, vcpus_used=20, cpu_allocation_ratio=4.0, reserved_vcpus=1,
             memory_mb=4096, memory_mb_used=1024, ram_allocation_ratio=1.5, reserved_memory_mb=512,
             disk_gb=100, disk_gb_used=10, disk_allocation_ratio=2.0, reserved_disk_gb=0)
    assert h.free_vcpus == (8 - 1) * 4.0 - 20
    assert h.free_ram_mb == (4096 - 512) * 1.5 - 1024
    assert h.free_disk_gb == 190
    assert h.free_disk_mb == 190 * 1024


def test_nodename_defaults_to_host_and_num_instances_to_instances() -> None:
    h = host("c1", instances={"a": None, "b": "g"})
    assert h.nodename == "c1" and h.hypervisor_hostname == "c1"
    assert h.num_instances == 2


def test_zones_prefer_aggregates_then_own_then_default() -> None:
    assert host().zones() == {"nova"}
    assert host(availability_zone="az9").zones() == {"az9"}
    h = host(availability_zone="az9", aggregates=[aggregate("a", ["h1"], availability_zone="az1")])
    assert h.zones() == {"az1"}


def test_group_members_counted_by_group_uuid_or_membership() -> None:
    h = host(instances={"i1": "g1", "i2": None, "i3": "other"})
    assert h.group_members_here("g1") == 1
    assert h.group_members_here("g1", ["i2"]) == 2
    assert h.group_members_here("", ["i3"]) == 1


def test_capability_walks_attributes_dicts_json_and_stats() -> None:
    h = host(cpu_info={"arch": "x86_64", "topology": {"cores": 4}}, stats={"gpu": "2"},
             hypervisor_type="QEMU")
    assert h.capability(["cpu_info", "arch"]) == "x86_64"
    assert h.capability(["cpu_info", "topology", "cores"]) == 4
    assert h.capability(["hypervisor_type"]) == "QEMU"
    assert h.capability(["gpu"]) == "2"
    assert h.capability(["nothing"]) is None
    assert h.capability(["copy"]) is None  # methods are not capabilities
    assert h.capability(["_owned"]) is None
    h.stats["blob"] = '{"k": "v"}'
    assert h.capability(["blob", "k"]) == "v"


def test_copy_does_not_share_instances() -> None:
    h = host(instances={"a": None})
    dup = h.copy()
    dup.instances["b"] = None
    dup.vcpus_used = 5
    assert h.instances == {"a": None} and h.vcpus_used == 0
