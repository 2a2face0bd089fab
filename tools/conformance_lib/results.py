"""Tempest outcomes, normalised to pass / fail / skip, and the small text helpers around them."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from conformance_lib.tempest_conf import service_for_test

# subunit statuses: an expected failure counts as passing, an unexpected success as failing.
_STATUS = {"success": "pass", "xfail": "pass", "fail": "fail", "uxsuccess": "fail", "skip": "skip"}
_FIXTURE = re.compile(r"^(setUpClass|tearDownClass|setUpModule|tearDownModule) \((?P<target>[^)]*)\)$")
_TAGS = re.compile(r"\[[^\]]*\]$")
_CLIENT_CALL = re.compile(r'File "[^"]*/tempest/lib/services/(?:[\w/]*/)?(\w+)\.py", line \d+, in (\w+)')


@dataclass(frozen=True)
class TestResult:
    id: str
    status: str  # pass | fail | skip
    reason: str = ""
    traceback: str = ""
    seconds: float | None = None

    @property
    def name(self) -> str:
        return display_id(self.id)

    @property
    def module(self) -> str:
        return module_of(self.id)

    @property
    def service(self) -> str:
        return service_for_test(self.id)


@dataclass
class PassResult:
    """One Tempest run: which onestack settings, which tests, what happened."""

    name: str  # "normal" or "security-compliance"
    regex: str
    tests: list[TestResult] = field(default_factory=list)
    seconds: float = 0.0
    tempest_exit: int = 0
    workspace: str = ""
    services: list[str] = field(default_factory=list)  # service areas this pass ran
    offered: list[str] = field(default_factory=list)  # service areas the cloud's catalog lists

    def counts(self, service: str | None = None) -> Counter[str]:
        return Counter(t.status for t in self.tests if service is None or t.service == service)

    def covered(self) -> list[str]:
        """The service areas this pass ran (from its tests when not recorded)."""
        return sorted(set(self.services) | {t.service for t in self.tests})

    def failures(self) -> list[TestResult]:
        return sorted((t for t in self.tests if t.status == "fail"), key=lambda t: t.name)

    def skips(self) -> list[TestResult]:
        return sorted((t for t in self.tests if t.status == "skip"), key=lambda t: t.name)


def from_dump(rows: list[dict[str, Any]]) -> list[TestResult]:
    """Results from ``subunit_dump`` output; unknown statuses are dropped, repeats keep the last."""
    by_id: dict[str, TestResult] = {}
    for row in rows:
        status = _STATUS.get(str(row.get("status")))
        if status is None:
            continue
        by_id[str(row["id"])] = TestResult(
            id=str(row["id"]), status=status, reason=str(row.get("reason") or "").strip(),
            traceback=str(row.get("traceback") or ""), seconds=row.get("seconds"),
        )
    return list(by_id.values())


def display_id(test_id: str) -> str:
    """Drop Tempest's ``[id-…,tags]`` suffix; show class fixtures as ``Class (setUpClass)``."""
    fixture = _FIXTURE.match(test_id)
    if fixture:
        return f"{fixture.group('target')} ({fixture.group(1)})"
    return _TAGS.sub("", test_id)


def module_of(test_id: str) -> str:
    """The dotted test module: everything up to the first ``test_*`` component."""
    parts = display_id(test_id).split(" ")[0].split(".")
    for i, part in enumerate(parts):
        if part.startswith("test_"):
            return ".".join(parts[: i + 1])
    return ".".join(parts[:-1]) or parts[0]


def error_summary(traceback: str, limit: int = 300) -> str:
    """The exception line of a traceback (plus its continuation), on one line."""
    lines = [line for line in traceback.strip().splitlines() if line.strip()]
    if not lines:
        return "(no traceback recorded)"
    header = max((i for i, line in enumerate(lines) if line.startswith("Traceback (most recent")), default=-1)
    # The exception line is the first one at column 0 after the last traceback's frames.
    start = next((i for i in range(header + 1, len(lines)) if not lines[i].startswith((" ", "\t"))), 0)
    text = " ".join(line.strip() for line in lines[start:start + 4])
    calls = _CLIENT_CALL.findall(traceback)
    if calls:
        # Which API call failed matters more than where in the test it happened.
        text = f"[{calls[-1][0]}.{calls[-1][1]}] {text}"
    return text if len(text) <= limit else text[: limit - 1] + "…"
