from __future__ import annotations

from onestack.compute.scheduler.filters.compute_capabilities import ComputeCapabilitiesFilter
from tests.unit.compute.scheduler.helpers import host, spec

F = ComputeCapabilitiesFilter()
H = host(hypervisor_type="QEMU", hypervisor_version=8002000,
         cpu_info={"arch": "x86_64", "features": ["avx", "aes"]}, stats={"ssd": "true"})


def test_no_extra_specs_passes() -> None:
    assert F.host_passes(H, spec())


def test_scoped_keys_match_host_attributes() -> None:
    assert F.host_passes(H, spec(extra_specs={"capabilities:hypervisor_type": "QEMU",
                                              "capabilities:cpu_info:arch": "x86_64",
                                              "capabilities:cpu_info:features": "<all-in> avx aes",
                                              "capabilities:free_ram_mb": ">= 1024",
                                              "capabilities:ssd": "true"}))
    assert not F.host_passes(H, spec(extra_specs={"capabilities:hypervisor_type": "s== xen"}))
    assert not F.host_passes(H, spec(extra_specs={"capabilities:cpu_info:arch": "aarch64"}))
    assert not F.host_passes(H, spec(extra_specs={"capabilities:vcpus_total": ">= 64"}))


def test_other_scopes_are_ignored() -> None:
    assert F.host_passes(H, spec(extra_specs={"hw:cpu_policy": "dedicated",
                                              "trait:HW_CPU_X86_AVX": "required",
                                              "aggregate_instance_extra_specs:ssd": "true"}))


def test_missing_capability_fails_including_unscoped_keys() -> None:
    assert not F.host_passes(H, spec(extra_specs={"capabilities:gpu": "1"}))
    assert not F.host_passes(H, spec(extra_specs={"gpu": "1"}))
    assert F.host_passes(H, spec(extra_specs={"ssd": "true"}))  # unscoped: looked up too
