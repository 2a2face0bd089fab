"""Turn a subunit v2 stream into JSON: one object per test with its status and details.

Runs with the Tempest virtualenv's Python (python-subunit and testtools come with Tempest),
so it must import nothing from onestack or from the rest of this package.
Usage: python subunit_dump.py RESULTS.subunit > RESULTS.json
"""

from __future__ import annotations

import json
import sys
from typing import Any

import subunit
import testtools

FINAL = {"success", "fail", "skip", "xfail", "uxsuccess"}


def _text(details: dict[str, Any], *names: str) -> str:
    for name in names:
        content = details.get(name)
        if content is not None:
            try:
                return str(content.as_text())
            except UnicodeDecodeError:
                return "(binary attachment)"
    return ""


def dump(path: str) -> list[dict[str, Any]]:
    tests: list[dict[str, Any]] = []

    def on_test(test: dict[str, Any]) -> None:
        if test["status"] not in FINAL or not test.get("id"):
            return
        start, stop = test.get("timestamps", (None, None))
        tests.append({
            "id": test["id"],
            "status": test["status"],
            "reason": _text(test["details"], "reason"),
            "traceback": _text(test["details"], "traceback", "error"),
            "seconds": (stop - start).total_seconds() if start and stop else None,
        })

    with open(path, "rb") as stream:
        case = subunit.ByteStreamToStreamResult(stream, non_subunit_name="stdout")
        result = testtools.StreamToDict(on_test)
        result.startTestRun()
        try:
            case.run(result)
        finally:
            result.stopTestRun()
    return tests


if __name__ == "__main__":
    json.dump(dump(sys.argv[1]), sys.stdout, indent=1)
