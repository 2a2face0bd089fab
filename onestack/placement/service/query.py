"""Parsing the query languages shared by provider listing and allocation candidates."""

from __future__ import annotations

from dataclasses import dataclass, field

from onestack.core.api.microversion import Version
from onestack.placement.service.common import (
    NAME_RE,
    QUERY_BAD_VALUE,
    bad_request,
    is_uuid,
)

V = Version
MULTI_MEMBER_OF = Version(1, 24)


@dataclass
class TraitFilter:
    any_of: list[frozenset[str]] = field(default_factory=list)  # each set: at least one must be present
    forbidden: set[str] = field(default_factory=set)

    def names(self) -> set[str]:
        out = set(self.forbidden)
        for group in self.any_of:
            out |= group
        return out

    def matches(self, traits: set[str]) -> bool:
        return not (traits & self.forbidden) and all(traits & group for group in self.any_of)

    def __bool__(self) -> bool:
        return bool(self.any_of or self.forbidden)


@dataclass
class MemberOf:
    expressions: list[tuple[frozenset[str], bool]] = field(default_factory=list)  # (aggregates, negated)

    def matches(self, aggregates: set[str]) -> bool:
        for aggs, negated in self.expressions:
            if negated and aggregates & aggs:
                return False
            if not negated and not aggregates & aggs:
                return False
        return True

    def __bool__(self) -> bool:
        return bool(self.expressions)


def parse_resources(text: str, param: str = "resources") -> dict[str, int]:
    out: dict[str, int] = {}
    for item in text.split(","):
        rc, sep, amount = item.strip().partition(":")
        if not sep or not rc or not NAME_RE.match(rc):
            raise bad_request(
                f"Badly formed {param} parameter. Expected {param} query string parameter in form: "
                f"?{param}=VCPU:2,MEMORY_MB:1024. Got: {text}.", QUERY_BAD_VALUE)
        try:
            value = int(amount)
        except ValueError:
            raise bad_request(f"Requested resource {rc} expected positive integer amount. Got: {amount}.",
                              QUERY_BAD_VALUE) from None
        if value < 1:
            raise bad_request(f"Requested resource {rc} requires amount >= 1. Got: {value}.", QUERY_BAD_VALUE)
        if rc in out:
            raise bad_request(f"Resource class {rc} specified more than once in {param}.", QUERY_BAD_VALUE)
        out[rc] = value
    return out


def _split(value: str, param: str) -> list[str]:
    items = [x.strip() for x in value.split(",")]
    if not value.strip() or any(not x for x in items):
        raise bad_request(f"Invalid query string parameters: Expected '{param}' parameter value of the form: "
                          "HW_CPU_X86_VMX,CUSTOM_MAGIC.", QUERY_BAD_VALUE)
    return items


def parse_required(values: list[str], version: Version, param: str = "required") -> TraitFilter:
    result = TraitFilter()
    for value in values:
        if version >= V(1, 39) and value.startswith("in:"):
            names = _split(value[3:], param)
            if any(n.startswith("!") for n in names):
                raise bad_request(f"Invalid query string parameters: forbidden traits cannot be mixed into "
                                  f"an in: list in '{param}'.", QUERY_BAD_VALUE)
            result.any_of.append(frozenset(names))
            continue
        for name in _split(value, param):
            if name.startswith("!") and version >= V(1, 22):
                result.forbidden.add(name[1:])
            else:
                result.any_of.append(frozenset([name]))
    overlap = {n for g in result.any_of if len(g) == 1 for n in g} & result.forbidden
    if overlap:
        raise bad_request(f"Conflicting required and forbidden traits found in the '{param}' parameter: "
                          f"{', '.join(sorted(overlap))}", QUERY_BAD_VALUE)
    return result


def parse_member_of(values: list[str], version: Version, *, multi_from: Version = MULTI_MEMBER_OF) -> MemberOf:
    if len(values) > 1 and version < multi_from:
        raise bad_request("Multiple member_of parameters are not supported at this microversion.",
                          QUERY_BAD_VALUE)
    result = MemberOf()
    for value in values:
        negated = False
        if value.startswith("!") and version >= V(1, 32):
            negated, value = True, value[1:]
        value = value.removeprefix("in:")
        aggs = [x.strip() for x in value.split(",")]
        if not all(is_uuid(a) for a in aggs):
            raise bad_request("Invalid query string parameters: Expected 'member_of' parameter to contain "
                              "valid UUID(s).", QUERY_BAD_VALUE)
        # Compared as spelt, as placement does: aggregates are stored as the client sent them.
        result.expressions.append((frozenset(aggs), negated))
    return result
