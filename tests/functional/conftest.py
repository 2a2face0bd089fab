"""One shared cloud for the functional tests; tests that restart or reconfigure make their own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.functional.cloud import RunningCloud, check_test_database, make_cloud


@pytest.fixture(scope="session", autouse=True)
def database_reachable() -> str:
    """ONESTACK_TEST_DB=postgresql with no server answering ends the run at once, loudly, not test by test."""
    try:
        return check_test_database()
    except RuntimeError as exc:
        pytest.exit(str(exc), returncode=3)


@pytest.fixture(scope="session")
def cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(tmp_path_factory.mktemp("cloud"))
    running.start()
    yield running
    running.close()


@pytest.fixture(scope="session")
def admin(cloud: RunningCloud) -> Any:
    """openstacksdk connection as admin on the admin project."""
    return cloud.sdk("devstack-admin")


@pytest.fixture(scope="session")
def demo(cloud: RunningCloud) -> Any:
    return cloud.sdk("devstack")


@pytest.fixture(scope="session")
def alt(cloud: RunningCloud) -> Any:
    return cloud.sdk("devstack-alt")


@pytest.fixture
def fresh_cloud(tmp_path: Path) -> Iterator[RunningCloud]:
    """A cloud of the test's own (for restarts, config changes, key rotation)."""
    running = make_cloud(tmp_path)
    yield running
    running.close()


# Connections to a compute test module's own cloud: each such module defines a module-scoped ``ccloud``
# fixture (tests/functional/compute_support.py module_cloud) and may override these.

@pytest.fixture(scope="module")
def cadmin(ccloud: RunningCloud) -> Any:
    return ccloud.sdk("devstack-admin")


@pytest.fixture(scope="module")
def cdemo(ccloud: RunningCloud) -> Any:
    return ccloud.sdk("devstack")


@pytest.fixture(scope="module")
def calt(ccloud: RunningCloud) -> Any:
    return ccloud.sdk("devstack-alt")
