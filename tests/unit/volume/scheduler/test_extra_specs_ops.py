from __future__ import annotations

import pytest

from onestack.volume.scheduler.extra_specs_ops import as_bool, match


@pytest.mark.parametrize(("value", "requirement", "expected"), [
    (True, "<is> True", True), (True, "<is> true", True), (False, "<is> True", False),
    ("true", "<is> True", True), (None, "<is> False", False), (True, "<is>", False),
    (True, "True", True), (False, "false", True), (True, "False", False),
    ("3", ">= 2", True), ("1", "= 2", False), ("abc", "s== abc", True), ("iSCSI", "<in> SCSI", True),
    ("b", "<or> a <or> b", True), ("lvm", "lvm", True), ("lvm", "nfs", False),
])
def test_match(value: object, requirement: str, expected: bool) -> None:
    assert match(value, requirement) is expected


def test_as_bool_is_olsos_bool_from_string() -> None:
    assert [as_bool(v) for v in ("yes", "On", "1", "t", "no", "", "2")] == [True] * 4 + [False] * 3
