"""A small policy engine that reads OpenStack's (oslo.policy) rule syntax.

Why not oslo.policy itself: it pulls in oslo.config's global option registry and
costs ~150 ms of import at start-up, and we only need the rule language. This engine
implements that language — ``role:``, ``rule:``, generic ``key:%(target.attr)s`` checks,
``@``, ``!``, ``and``/``or``/``not`` and parentheses — so operators can override any rule
with the same YAML file they would give OpenStack (see docs/design.md).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import yaml

from onestack.core.api.faults import Forbidden


class Check(Protocol):
    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool: ...


@dataclass(frozen=True)
class Always:
    result: bool

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        return self.result


@dataclass(frozen=True)
class And:
    parts: tuple[Check, ...]

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        return all(p(target, creds, enforcer) for p in self.parts)


@dataclass(frozen=True)
class Or:
    parts: tuple[Check, ...]

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        return any(p(target, creds, enforcer) for p in self.parts)


@dataclass(frozen=True)
class Not:
    part: Check

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        return not self.part(target, creds, enforcer)


@dataclass(frozen=True)
class RuleRef:
    name: str

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        return enforcer.check(self.name, target, creds)


_SUBST_RE = re.compile(r"%\(([^)]+)\)s")


def _substitute(template: str, target: Mapping[str, Any]) -> str | None:
    missing = False

    def repl(match: re.Match[str]) -> str:
        nonlocal missing
        key = match.group(1)
        if key not in target or target[key] is None:
            missing = True
            return ""
        return str(target[key])

    out = _SUBST_RE.sub(repl, template)
    return None if missing else out


def _literal(text: str) -> str | None:
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    if text in ("True", "False"):
        return text
    return None


def _lookup(creds: Mapping[str, Any], dotted: str) -> Any:
    if dotted in creds:
        return creds[dotted]
    node: Any = creds
    for part in dotted.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


@dataclass(frozen=True)
class RoleCheck:
    match: str

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        wanted = _substitute(self.match, target)
        return wanted is not None and wanted.lower() in {r.lower() for r in creds.get("roles", ())}


@dataclass(frozen=True)
class GenericCheck:
    key: str
    match: str

    def __call__(self, target: Mapping[str, Any], creds: Mapping[str, Any], enforcer: Enforcer) -> bool:
        right = _literal(self.match)
        if right is None:
            right = _substitute(self.match, target)
        if right is None:
            return False
        left_literal = _literal(self.key)
        if left_literal is not None:
            return left_literal == right
        value = _lookup(creds, self.key)
        if value is None:
            return False
        if isinstance(value, (list, tuple, set, frozenset)):
            return right in {str(v) for v in value}
        return str(value) == right


def _tokenize(text: str) -> list[str]:
    """Split on whitespace, then peel parentheses off the ends (``%(x)s`` keeps its own)."""
    tokens: list[str] = []
    for chunk in text.split():
        lead = len(chunk) - len(chunk.lstrip("("))
        trail = len(chunk) - len(chunk.rstrip(")"))
        core = chunk[lead: len(chunk) - trail]
        if core and trail and "%(" in core and not core.endswith("s"):
            # "%(a)s)" style: the rstrip took a paren belonging to a substitution
            core, trail = core + ")", trail - 1
        tokens.extend(["("] * lead)
        if core:
            tokens.append(core)
        tokens.extend([")"] * trail)
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> Check:
        if not self.tokens:
            return Always(True)
        check = self.parse_or()
        if self.peek() is not None:
            raise ValueError(f"unexpected {self.peek()!r} in policy rule")
        return check

    def parse_or(self) -> Check:
        parts = [self.parse_and()]
        while self.peek() == "or":
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Check:
        parts = [self.parse_not()]
        while self.peek() == "and":
            self.take()
            parts.append(self.parse_not())
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self) -> Check:
        if self.peek() == "not":
            self.take()
            return Not(self.parse_not())
        return self.parse_atom()

    def parse_atom(self) -> Check:
        tok = self.peek()
        if tok is None:
            raise ValueError("policy rule ended early")
        self.take()
        if tok == "(":
            inner = self.parse_or()
            if self.peek() != ")":
                raise ValueError("missing ')' in policy rule")
            self.take()
            return inner
        return parse_check(tok)


def parse_check(text: str) -> Check:
    if text == "@":
        return Always(True)
    if text == "!":
        return Always(False)
    if ":" not in text:
        raise ValueError(f"not a policy check: {text!r}")
    kind, match = text.split(":", 1)
    if kind == "rule":
        return RuleRef(match)
    if kind == "role":
        return RoleCheck(match)
    return GenericCheck(kind, match)


def parse_rule(text: str) -> Check:
    return _Parser(text).parse()


def flatten_target(target: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"target": {"project": {"id": 1}}}`` becomes ``{"target.project.id": 1, ...}``, as oslo does."""
    flat: dict[str, Any] = {}
    for key, value in target.items():
        name = f"{prefix}{key}"
        flat[name] = value
        if isinstance(value, Mapping):
            flat.update(flatten_target(value, name + "."))
    return flat


class Enforcer:
    """Default rules overridden by an optional YAML/JSON policy file (re-read when it changes)."""

    def __init__(self, defaults: Mapping[str, str], policy_file: str = "") -> None:
        self._defaults = dict(defaults)
        self._policy_file = policy_file
        self._file_mtime: float | None = None
        self._rules: dict[str, Check] = {}
        self._load()

    def _load(self) -> None:
        rules = dict(self._defaults)
        if self._policy_file and os.path.exists(self._policy_file):
            self._file_mtime = os.path.getmtime(self._policy_file)
            with open(self._policy_file, encoding="utf-8") as fh:
                overrides = yaml.safe_load(fh) or {}
            if not isinstance(overrides, dict):
                raise ValueError(f"{self._policy_file}: a policy file is a mapping of rule names to rules")
            rules.update({str(k): str(v) for k, v in overrides.items()})
        self._rules = {name: parse_rule(text) for name, text in rules.items()}

    def _maybe_reload(self) -> None:
        if (self._policy_file and os.path.exists(self._policy_file)
                and os.path.getmtime(self._policy_file) != self._file_mtime):
            self._load()

    def check(self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        check = self._rules.get(rule)
        if check is None:
            # An unknown rule falls back to "default", as oslo.policy does.
            check = self._rules.get("default", Always(False))
        return check(target, creds, self)

    def enforce(self, rule: str, target: Mapping[str, Any], creds: Mapping[str, Any]) -> None:
        self._maybe_reload()
        if not self.check(rule, flatten_target(target), creds):
            raise Forbidden(f"You are not authorized to perform the requested action: {rule}.")

    def rules(self) -> dict[str, str]:
        return dict(self._defaults)
