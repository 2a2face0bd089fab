"""A tiny Glance v2 client for raw-HTTP tests (one token, paths relative to /image/v2), and its fixtures."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud


class Api:
    """A tiny Glance client: one token, paths relative to /image/v2."""

    def __init__(self, cloud: RunningCloud, conn: Any) -> None:
        self.base = f"{cloud.base_url}/image/v2"
        self.project_id = conn.current_project_id
        self.http = httpx.Client(headers={"X-Auth-Token": conn.session.get_token()}, timeout=30)

    def __call__(self, method: str, path: str, body: Any = None, **kw: Any) -> httpx.Response:
        return self.http.request(method, self.base + path, json=body, **kw)


def _client_fixture(name: str, connection: str) -> Callable[..., Iterator[Api]]:
    @pytest.fixture(scope="module", name=name)
    def fixture(cloud: RunningCloud, request: pytest.FixtureRequest) -> Iterator[Api]:
        client = Api(cloud, request.getfixturevalue(connection))
        yield client
        client.http.close()

    return fixture


def client_fixtures() -> tuple[Callable[..., Iterator[Api]], ...]:
    """Module-scoped fixtures ``api`` (admin), ``demo_api`` and ``alt_api``; assign them in a test module."""
    return _client_fixture("api", "admin"), _client_fixture("demo_api", "demo"), _client_fixture("alt_api", "alt")
