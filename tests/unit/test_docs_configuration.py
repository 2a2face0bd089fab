"""docs/configuration.md must document every configuration key, correctly."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from onestack.core.config import Config, describe

DOC = Path(__file__).resolve().parents[2] / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(?P<key>[a-z0-9_.]+)` \| (?P<type>\w+) \| (?P<default>[^|]+) \| `(?P<env>[A-Z0-9_]+)` \| (?P<meaning>[^|]+) \|$")


def documented() -> dict[str, dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line.strip())
        if match:
            assert match["key"] not in rows, f"{match['key']} is documented twice"
            rows[match["key"]] = {k: v.strip() for k, v in match.groupdict().items()}
    return rows


def toml_literal(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f'"{value}"'
    return repr(value)


KEYS = describe(Config())


@pytest.mark.parametrize(("key", "typ", "default"), KEYS, ids=[k for k, _, _ in KEYS])
def test_key_is_documented(key: str, typ: str, default: Any) -> None:
    rows = documented()
    assert key in rows, f"{key} is missing from docs/configuration.md"
    row = rows[key]
    assert row["type"] == typ
    assert row["env"] == "ONESTACK_" + key.upper().replace(".", "__")
    assert len(row["meaning"]) > 10
    if key != "server.data_dir":  # its default depends on the machine
        assert row["default"] == f"`{toml_literal(default)}`"


def test_no_stale_keys_in_the_doc() -> None:
    known = {k for k, _, _ in KEYS}
    assert set(documented()) - known == set()


def test_every_section_has_a_heading() -> None:
    text = DOC.read_text(encoding="utf-8")
    for section in {k.rsplit(".", 1)[0] for k, _, _ in KEYS}:
        assert f"## `[{section}]`" in text
