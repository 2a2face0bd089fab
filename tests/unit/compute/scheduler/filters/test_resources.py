"""RamFilter, CoreFilter, DiskFilter: the fallback resource checks."""

from __future__ import annotations

from onestack.compute.scheduler.filters.core import CoreFilter
from onestack.compute.scheduler.filters.disk import DiskFilter
from onestack.compute.scheduler.filters.ram import RamFilter
from onestack.compute.scheduler.request import Flavor
from tests.unit.compute.scheduler.helpers import host, spec

BIG = spec(flavor=Flavor(vcpus=8, memory_mb=8192, root_gb=80, ephemeral_gb=10, swap=1025))


def test_ram_honours_ratio() -> None:
    assert RamFilter().host_passes(host(memory_mb=8192), BIG)
    assert not RamFilter().host_passes(host(memory_mb=8192, memory_mb_used=1), BIG)
    assert RamFilter().host_passes(host(memory_mb=4096, ram_allocation_ratio=2.0), BIG)
    assert not RamFilter().host_passes(host(memory_mb=8192, reserved_memory_mb=512), BIG)


def test_core_honours_ratio() -> None:
    assert not CoreFilter().host_passes(host(vcpus_total=4), BIG)
    assert CoreFilter().host_passes(host(vcpus_total=4, cpu_allocation_ratio=2.0), BIG)


def test_disk_counts_root_ephemeral_and_swap() -> None:
    assert BIG.flavor.disk_gb == 80 + 10 + 2  # swap 1025 MiB rounds up to 2 GiB
    assert DiskFilter().host_passes(host(disk_gb=92), BIG)
    assert not DiskFilter().host_passes(host(disk_gb=91), BIG)
