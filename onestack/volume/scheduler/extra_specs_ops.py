"""Cinder's extra-spec operators: Nova's (``compute/scheduler/extra_specs_ops.py``: ``=``, ``==``,
``>=``, ``s==``, ``<in>``, ``<all-in>``, ``<or>``...) plus ``<is>``, a boolean comparison
(``multiattach: "<is> True"`` matches a backend reporting ``multiattach: true``)."""

from __future__ import annotations

from typing import Any

from onestack.compute.scheduler import extra_specs_ops as nova_ops

_TRUE = {"1", "t", "true", "on", "y", "yes"}


def as_bool(value: Any) -> bool:
    """oslo's bool_from_string: anything but a true word is False."""
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in _TRUE


def match(value: Any, requirement: str) -> bool:
    """True when the pool's capability ``value`` satisfies ``requirement``."""
    words = str(requirement).split()
    if words and words[0] == "<is>":
        return value is not None and len(words) > 1 and as_bool(value) is as_bool(words[1])
    if isinstance(value, bool) and not (words and words[0] in nova_ops.OPERATORS):
        # A bare "True"/"true" against a reported boolean.
        return requirement.strip().lower() == str(value).lower()
    return nova_ops.match(value, requirement)
