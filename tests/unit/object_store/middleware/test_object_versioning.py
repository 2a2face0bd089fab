"""Object versioning's hidden names: inverted timestamps (newest first), version ids."""

from __future__ import annotations

import pytest

from onestack.object_store.errors import SwiftError
from onestack.object_store.middleware import object_versions as ov


@pytest.mark.parametrize("version_id", ["1700000000.12345", "0000000001.00000", "9999999999.99999"])
def test_inverted_timestamps_round_trip_and_sort_newest_first(version_id: str) -> None:
    assert ov.invert(ov.invert(version_id)) == version_id
    name = ov.version_object("dir/obj", version_id)
    assert name.startswith(ov.RESERVED + "dir/obj" + ov.RESERVED)
    assert ov.parse_version_object(name) == ("dir/obj", version_id)


def test_newer_versions_list_first() -> None:
    names = [ov.version_object("o", v) for v in ("1700000000.00001", "1700000000.00002", "1800000000.00000")]
    assert sorted(names, key=lambda n: n.encode()) == list(reversed(names))


def test_names_that_are_not_versions() -> None:
    assert ov.parse_version_object("plain") == ("plain", None)
    assert ov.parse_version_object(ov.RESERVED + "no-separator") == (ov.RESERVED + "no-separator", None)
    assert ov.parse_version_object(ov.reserved("o", "not-a-time")) == (ov.reserved("o", "not-a-time"), None)


@pytest.mark.parametrize("value", ["bogus", "", "-1"])
def test_bad_version_ids_are_400(value: str) -> None:
    with pytest.raises(SwiftError) as err:
        ov.validate_version(value)
    assert (err.value.status, err.value.detail) == (400, "Invalid version parameter")


def test_null_version_only_where_allowed() -> None:
    ov.validate_version("null")
    with pytest.raises(SwiftError):
        ov.validate_version("null", allow_null=False)
