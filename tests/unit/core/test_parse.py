"""Shared parsers: booleans per service spelling, UUIDs, bounded integers, timestamps."""

from __future__ import annotations

from datetime import datetime

import pytest

from onestack.core.api.parse import (
    INT32_MAX,
    KEYSTONE_BOOLEANS,
    OSLO_BOOLEANS,
    STRICT_BOOLEANS,
    fits,
    is_uuid,
    parse_int,
    parse_timestamp,
    parse_uuid,
    unstorable,
)


def test_booleans_follow_each_services_spelling() -> None:
    assert OSLO_BOOLEANS.parse("Yes") is True and OSLO_BOOLEANS.parse("f") is False
    assert KEYSTONE_BOOLEANS.parse("") is True
    assert KEYSTONE_BOOLEANS.parse("maybe") is False
    with pytest.raises(ValueError):
        OSLO_BOOLEANS.parse("")
    with pytest.raises(ValueError):
        STRICT_BOOLEANS.parse("yes")


def test_uuids() -> None:
    dashed = "6f1e7c1a-0b5d-4f7e-9c8d-2a1b3c4d5e6f"
    assert is_uuid(dashed) and is_uuid(dashed.replace("-", "")) and is_uuid(dashed.upper())
    assert not is_uuid("{" + dashed + "}") and not is_uuid(42) and not is_uuid("x" * 36)
    assert is_uuid(dashed, dashed=True) and not is_uuid(dashed.replace("-", ""), dashed=True)
    assert parse_uuid(dashed.replace("-", "").upper()) == dashed
    with pytest.raises(ValueError):
        parse_uuid("nope")


def test_integers_are_bounded() -> None:
    assert parse_int(" 42 ") == 42 and parse_int(-3, minimum=None) == -3
    bads: list[str | int] = ["4.2", "", "0x10", "9" * 31, True]
    for bad in bads:
        with pytest.raises(ValueError):
            parse_int(bad)
    with pytest.raises(ValueError, match="greater than the maximum"):
        parse_int(2**63)
    with pytest.raises(ValueError, match="less than the minimum"):
        parse_int("-1", minimum=0)


def test_timestamps_are_naive_utc() -> None:
    assert parse_timestamp("2026-01-02T03:04:05Z") == datetime(2026, 1, 2, 3, 4, 5)
    assert parse_timestamp("2026-01-02T05:04:05+02:00") == datetime(2026, 1, 2, 3, 4, 5)
    with pytest.raises(ValueError):
        parse_timestamp("yesterday")


def test_encodable() -> None:
    assert unstorable("€ ☁️") is None and unstorable("\ud800") and unstorable("a\x00b")


def test_fits_checks_a_column_bound_without_building_a_huge_int() -> None:
    assert fits("2147483647", 0, INT32_MAX) and fits(" -5 ", -10, 0)
    assert not fits("2147483648", 0, INT32_MAX)
    assert not fits("9" * 5000, 0, INT32_MAX)  # past Python's own 4300-digit limit: no ValueError
