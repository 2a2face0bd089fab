from __future__ import annotations

from onestack.compute.scheduler.filters.aggregate_instance_extra_specs import (
    AggregateInstanceExtraSpecsFilter,
)
from tests.unit.compute.scheduler.helpers import aggregate, host, spec

F = AggregateInstanceExtraSpecsFilter()
H = host(aggregates=[aggregate("fast", ["h1"], ssd="true", cores="16"),
                     aggregate("gpu", ["h1"], ssd="false", gpu="v100")])


def test_no_extra_specs_passes_even_without_aggregates() -> None:
    assert F.host_passes(host(), spec())


def test_scoped_key_must_match_some_aggregate_value() -> None:
    assert F.host_passes(H, spec(extra_specs={"aggregate_instance_extra_specs:ssd": "true"}))
    assert F.host_passes(H, spec(extra_specs={"aggregate_instance_extra_specs:ssd": "false"}))
    assert F.host_passes(H, spec(extra_specs={"aggregate_instance_extra_specs:cores": ">= 8"}))
    assert not F.host_passes(H, spec(extra_specs={"aggregate_instance_extra_specs:gpu": "a100"}))
    assert not F.host_passes(host(), spec(extra_specs={"aggregate_instance_extra_specs:ssd": "true"}))


def test_unscoped_keys_checked_other_scopes_ignored() -> None:
    assert F.host_passes(H, spec(extra_specs={"gpu": "<or> a100 <or> v100"}))
    assert not F.host_passes(H, spec(extra_specs={"fpga": "yes"}))
    assert F.host_passes(H, spec(extra_specs={"capabilities:fpga": "yes", "hw:mem_page_size": "1GB"}))
