"""RAMWeigher, CPUWeigher, DiskWeigher: free capacity, spread or stack by sign."""

from __future__ import annotations

import pytest

from onestack.compute.scheduler.weighers.base import total_weights
from onestack.compute.scheduler.weighers.cpu import CPUWeigher
from onestack.compute.scheduler.weighers.disk import DiskWeigher
from onestack.compute.scheduler.weighers.ram import RAMWeigher
from tests.unit.compute.scheduler.helpers import host, spec

EMPTY = host("empty")
BUSY = host("busy", vcpus_used=12, memory_mb_used=30000, disk_gb_used=400)


@pytest.mark.parametrize("cls", [RAMWeigher, CPUWeigher, DiskWeigher])
def test_positive_spreads_negative_stacks(cls: type) -> None:
    spread = total_weights([EMPTY, BUSY], spec(), [cls(1.0)])
    stack = total_weights([EMPTY, BUSY], spec(), [cls(-1.0)])
    assert spread[0] > spread[1]
    assert stack[0] < stack[1]


def test_raw_weights_are_free_capacity_after_ratio() -> None:
    h = host(vcpus_total=4, vcpus_used=2, cpu_allocation_ratio=4.0, memory_mb=1000,
             memory_mb_used=250, disk_gb=100, disk_gb_used=30)
    assert CPUWeigher().weigh(h, spec()) == 14
    assert RAMWeigher().weigh(h, spec()) == 750
    assert DiskWeigher().weigh(h, spec()) == 70
    over = host(memory_mb=100, memory_mb_used=200)
    assert RAMWeigher().weigh(over, spec()) == 0  # overcommitted counts as full
