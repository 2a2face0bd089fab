"""Parsers every service's HTTP layer shares: booleans, UUIDs, bounded integers, timestamps.

Each raises ``ValueError`` with a short reason; the request layer (``core/api/request.py``)
turns that into the calling service's own 400, so a service never re-implements a parser to
get its error message right.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime

from onestack.core.ids import parse_isotime


@dataclass(frozen=True)
class Booleans:
    """The spellings of true and false one service accepts in query strings and bodies."""

    true: frozenset[str]
    false: frozenset[str]
    case_sensitive: bool = False
    # What any other spelling means; None refuses it (the service's 400).
    otherwise: bool | None = None

    def parse(self, text: str) -> bool:
        key = text.strip() if self.case_sensitive else text.strip().lower()
        if key in self.true:
            return True
        if key in self.false:
            return False
        if self.otherwise is not None:
            return self.otherwise
        raise ValueError(f"{text!r} is not a valid boolean")


# oslo_utils.strutils.bool_from_string(strict=True): Nova, Cinder, Neutron.
OSLO_BOOLEANS = Booleans(true=frozenset({"1", "t", "true", "on", "y", "yes"}),
                         false=frozenset({"0", "f", "false", "off", "n", "no"}))
# Keystone's query flags: present with no value, or one of these; Keystone refuses no spelling,
# anything else is false.
KEYSTONE_BOOLEANS = Booleans(true=frozenset({"", "1", "true", "yes", "on"}),
                             false=frozenset({"0", "false", "no", "off", "n"}), otherwise=False)
# JSON-schema style: only the literal words.
STRICT_BOOLEANS = Booleans(true=frozenset({"true"}), false=frozenset({"false"}))


def is_uuid(text: object, *, dashed: bool | None = None) -> bool:
    """Whether ``text`` is a UUID (any case); ``dashed`` True/False also requires/forbids dashes."""
    if not isinstance(text, str):
        return False
    try:
        uuid.UUID(text)
    except ValueError:
        return False
    if dashed is True:
        return len(text) == 36
    if dashed is False:
        return len(text) == 32
    return len(text) in (32, 36)


def parse_uuid(text: str) -> str:
    """The canonical dashed lower-case form; ValueError if ``text`` is no UUID."""
    if not is_uuid(text):
        raise ValueError(f"{text!r} is not a valid UUID")
    return str(uuid.UUID(text))


_INT = re.compile(r"^[+-]?[0-9]+$")
# The widest integer column any service stores (a signed 64-bit BIGINT).
INT64_MAX = 2**63 - 1
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
INT64_MIN = -(2**63)


def fits(text: str, minimum: int, maximum: int) -> bool:
    """Whether a decimal integer string lies within a column's bounds (without building a huge int)."""
    digits = text.strip().lstrip("+-")
    return len(digits) <= 20 and minimum <= int(text) <= maximum


def parse_int(text: str | int, *, minimum: int | None = None, maximum: int | None = INT64_MAX) -> int:
    """An integer within bounds, from a JSON integer or a decimal string (no floats, no bools)."""
    if isinstance(text, bool):
        raise ValueError(f"{text!r} is not an integer")  # noqa: TRY004 - callers map ValueError to 400
    if isinstance(text, int):
        value = text
    else:
        stripped = text.strip()
        if not _INT.match(stripped) or len(stripped) > 30:
            raise ValueError(f"{text!r} is not an integer")
        value = int(stripped)
    if minimum is not None and value < minimum:
        raise ValueError(f"{value} is less than the minimum of {minimum}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{value} is greater than the maximum of {maximum}")
    return value


def parse_timestamp(text: str) -> datetime:
    """An ISO 8601 timestamp as naive UTC (``2026-01-02T03:04:05Z``, offsets, fractions)."""
    try:
        return parse_isotime(text)
    except (ValueError, OverflowError):
        raise ValueError(f"{text!r} is not an ISO 8601 timestamp") from None


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored and returned faithfully, or None when it can.

    A lone surrogate cannot be written as UTF-8, and PostgreSQL's text columns refuse NUL: both
    are refused at the edge (400) rather than failing on write or on every later read.
    """
    if "\x00" in text:
        return "a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "a string that is not valid Unicode"
    return None
