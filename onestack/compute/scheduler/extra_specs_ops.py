"""Nova's extra-spec value operators, for matching a requirement against a host value.

A requirement string is either a bare value (plain string equality) or starts with an
operator word:

    "= 4"          numeric: value >= 4 (Nova's "at least")
    "== 4"         numeric equality; "!=", ">=", "<=" likewise
    "s== abc"      string comparisons: s==, s!=, s<, s<=, s>, s>=
    "<in> avx"     the value contains "avx" (substring; or element, for list values)
    "<all-in> a b" the value contains every listed word
    "<or> a <or> b" the value equals one of the alternatives
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


def _numeric(compare: Callable[[float, float], bool]) -> Callable[[Any, str], bool]:
    def check(value: Any, wanted: str) -> bool:
        try:
            return compare(float(value), float(wanted))
        except (TypeError, ValueError):
            return False  # a non-numeric side never satisfies a numeric operator
    return check


def _string(compare: Callable[[str, str], bool]) -> Callable[[Any, str], bool]:
    return lambda value, wanted: compare(_text(value), wanted)


def _contains(value: Any, wanted: str) -> bool:
    if isinstance(value, (list, tuple, set, frozenset)):
        return wanted in {str(v) for v in value}
    return wanted in _text(value)


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


_BINARY: dict[str, Callable[[Any, str], bool]] = {
    "=": _numeric(operator.ge),
    "==": _numeric(operator.eq),
    "!=": _numeric(operator.ne),
    ">=": _numeric(operator.ge),
    "<=": _numeric(operator.le),
    "s==": _string(operator.eq),
    "s!=": _string(operator.ne),
    "s<": _string(operator.lt),
    "s<=": _string(operator.le),
    "s>": _string(operator.gt),
    "s>=": _string(operator.ge),
    "<in>": _contains,
}

OPERATORS = frozenset(_BINARY) | {"<all-in>", "<or>"}


def match(value: Any, requirement: str) -> bool:
    """True when the host ``value`` satisfies the extra-spec ``requirement``."""
    words = str(requirement).split()
    op = words[0] if words else ""
    if op not in OPERATORS:
        return _text(value) == requirement if value is not None else False
    if value is None:
        return False
    args = words[1:]
    if op == "<or>":
        # Alternatives sit at the even positions: "<or> a <or> b" -> words[1], words[3], ...
        return _text(value) in args[::2]
    if not args:
        return False  # an operator with nothing to compare against never matches
    if op == "<all-in>":
        return all(_contains(value, word) for word in args)
    return _BINARY[op](value, args[0])
