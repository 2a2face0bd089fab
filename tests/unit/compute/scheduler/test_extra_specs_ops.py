from __future__ import annotations

import pytest

from onestack.compute.scheduler.extra_specs_ops import match


@pytest.mark.parametrize(("value", "req", "expected"), [
    ("abc", "abc", True), ("abc", "abd", False), (None, "abc", False),
    ("4", "= 2", True), ("2", "= 2", True), ("1", "= 2", False),  # "=" means at least
    ("2", "== 2", True), ("2.0", "== 2", True), ("3", "== 2", False),
    ("3", "!= 2", True), ("2", "!= 2", False),
    ("3", ">= 2", True), ("1", ">= 2", False), ("1", "<= 2", True), ("3", "<= 2", False),
    ("abc", "== 2", False),  # non-numeric never satisfies a numeric operator
    ("abc", "s== abc", True), ("abc", "s!= abc", False), ("abc", "s< abd", True),
    ("abd", "s<= abd", True), ("abe", "s> abd", True), ("abc", "s>= abd", False),
    ("avx sse4", "<in> sse", True), ("avx", "<in> sse", False),
    (["avx", "sse4"], "<in> avx", True), (["avx2"], "<in> avx", False),
    ("avx sse4 aes", "<all-in> avx aes", True), ("avx", "<all-in> avx aes", False),
    (["avx", "aes"], "<all-in> avx aes", True),
    ("b", "<or> a <or> b <or> c", True), ("d", "<or> a <or> b", False),
    ("x", "<in>", False), ("1", ">=", False), (None, "<or> a", False),
    (4, "= 4", True),
])
def test_match(value: object, req: str, expected: bool) -> None:
    assert match(value, req) is expected
