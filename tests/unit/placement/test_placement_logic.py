"""Placement logic without a server: query parsing, capacity, the generation compare-and-swap."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from onestack.core.api.faults import ApiError
from onestack.core.api.microversion import Version
from onestack.core.ids import utcnow
from onestack.placement import models as m
from onestack.placement.service.common import bump_generation
from onestack.placement.service.query import parse_member_of, parse_required, parse_resources
from onestack.placement.service.snapshot import Inv

AGG = "5e08ea53-c4c6-448e-9334-ac4953de3cfa"


def test_parse_resources() -> None:
    assert parse_resources("VCPU:2,MEMORY_MB:1024") == {"VCPU": 2, "MEMORY_MB": 1024}
    for bad in ("VCPU", "VCPU:0", "VCPU:x", "vcpu:1", "VCPU:1,VCPU:2"):
        with pytest.raises(ApiError) as exc:
            parse_resources(bad)
        assert exc.value.status == 400


def test_parse_required_versions() -> None:
    f = parse_required(["HW_CPU_X86_AVX,!COMPUTE_STATUS_DISABLED"], Version(1, 22))
    assert f.matches({"HW_CPU_X86_AVX"}) and not f.matches({"HW_CPU_X86_AVX", "COMPUTE_STATUS_DISABLED"})
    # Before 1.22 '!' is just part of a (then unknown) name.
    assert "!COMPUTE_STATUS_DISABLED" in parse_required(["!COMPUTE_STATUS_DISABLED"], Version(1, 21)).names()
    any_of = parse_required(["in:A,B", "C"], Version(1, 39))
    assert any_of.matches({"A", "C"}) and not any_of.matches({"A"}) and not any_of.matches({"C"})
    with pytest.raises(ApiError):
        parse_required(["A,!A"], Version(1, 22))


def test_parse_member_of() -> None:
    f = parse_member_of([f"in:{AGG}"], Version(1, 3))
    assert f.matches({AGG}) and not f.matches(set())
    neg = parse_member_of([f"!{AGG}"], Version(1, 32))
    assert neg.matches(set()) and not neg.matches({AGG})
    with pytest.raises(ApiError):
        parse_member_of([AGG, AGG], Version(1, 23))
    with pytest.raises(ApiError):
        parse_member_of(["not-a-uuid"], Version(1, 3))


def test_inventory_capacity_and_constraints() -> None:
    inv = Inv(total=10, reserved=2, min_unit=2, max_unit=6, step_size=2, allocation_ratio=1.5, used=8)
    assert inv.capacity == 12
    assert inv.fits(4) and not inv.fits(6)  # 8+6 > 12
    assert not inv.fits(3)  # step size
    assert not inv.fits(4, already=2)


def test_generation_swap_loses_to_a_concurrent_writer(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path}/p.db")
    m.Base.metadata.create_all(engine)
    now = utcnow()
    with Session(engine) as s, s.begin():
        s.add(m.ResourceProvider(uuid="u1", name="n1", generation=0, created_at=now, updated_at=now))
    with Session(engine) as first:
        rp = first.query(m.ResourceProvider).one()
        seen = rp.generation
        with Session(engine) as second, second.begin():  # another claim commits in between
            bump_generation(second, second.query(m.ResourceProvider).one())
        with pytest.raises(ApiError) as exc:
            bump_generation(first, rp, seen)
        assert exc.value.status == 409
        assert getattr(exc.value, "error_code", None) == "placement.concurrent_update"
        first.rollback()
    with Session(engine) as s:
        assert s.query(m.ResourceProvider).one().generation == 1


def test_a_consumer_created_by_a_concurrent_claim_is_a_409_not_a_500(tmp_path: Path) -> None:
    # Two claims for one server, each having read the consumer absent: the second's insert meets the
    # first's row. Placement answers ConsumerExists as 409 concurrent_update; an IntegrityError was a 500.
    from onestack.placement.service.allocations import ConsumerWrite, _save_consumer

    engine = create_engine(f"sqlite:///{tmp_path}/p.db")
    m.Base.metadata.create_all(engine)
    now = utcnow()
    write = ConsumerWrite(uuid="c1", allocations={"rp": {"VCPU": 1}}, project_id="p", user_id="u")
    with Session(engine) as first, first.begin():
        _save_consumer(first, None, write, now)
    with Session(engine) as second:
        with pytest.raises(ApiError) as exc:
            _save_consumer(second, None, write, now)
        assert exc.value.status == 409
        assert getattr(exc.value, "error_code", None) == "placement.concurrent_update"
        second.rollback()
    with Session(engine) as s:
        assert [c.generation for c in s.query(m.Consumer).all()] == [0]
