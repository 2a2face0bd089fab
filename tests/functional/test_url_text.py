"""A URL whose ids, names or filters cannot be database text (NUL, not UTF-8) answers 400 in every
service's own error shape, with or without a token; on PostgreSQL these were 500s.

The check is in the shared service app (core/api/app.py UrlGuard), so every mounted service has it;
text that is valid, however unusual, still reaches the handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud

# The error shape of each service, by the body's keys (Glance answers text).
SHAPES: dict[str, Callable[[httpx.Response], bool]] = {
    "identity": lambda r: set(r.json()) == {"error"} and r.json()["error"]["code"] == 400,
    "compute": lambda r: r.json()["badRequest"]["code"] == 400,
    "placement": lambda r: r.json()["errors"][0]["status"] == 400,
    "image": lambda r: r.text.startswith("400 Bad Request")}
BAD = ["a%00b", "%ED%A0%80", "%FF", "x%C0%AF"]


@pytest.fixture(scope="module")
def token(admin: Any) -> str:
    return str(admin.session.get_token())


def _prefix(cloud: RunningCloud, service: str) -> str:
    return f"{cloud.base_url}/{service}"


@pytest.mark.parametrize("service", sorted(SHAPES))
def test_bad_text_in_path_and_query(cloud: RunningCloud, token: str, service: str) -> None:
    paths = {"identity": "/v3/users/{}", "compute": "/v2.1/servers/{}", "image": "/v2/images/{}",
             "placement": "/resource_providers/{}"}
    lists = {"identity": "/v3/projects?name={}", "compute": "/v2.1/servers?name={}", "image": "/v2/images?name={}",
             "placement": "/resource_providers?name={}"}
    with httpx.Client(base_url=_prefix(cloud, service), timeout=30) as http:
        for bad in BAD:
            for url in (paths[service].format(bad), lists[service].format(bad)):
                for headers in ({"X-Auth-Token": token}, {}):
                    resp = http.get(url, headers=headers)
                    assert resp.status_code == 400 and SHAPES[service](resp), (url, resp.status_code, resp.text)
        # Unusual but valid text is served as before.
        listed = http.get(lists[service].format("%E2%82%AC%EF%BF%BD"), headers={"X-Auth-Token": token})
        assert listed.status_code == 200, listed.text
        missing = http.get(paths[service].format("%E2%82%AC"), headers={"X-Auth-Token": token})
        assert missing.status_code in (400, 404), missing.text
