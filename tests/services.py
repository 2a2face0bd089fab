"""Local services some tests need (RabbitMQ, PostgreSQL): skip without them, unless CI requires them.

With ``ONESTACK_REQUIRE_SERVICES=1`` (CI sets it) a missing service fails the test instead of
skipping it, so a broken service set-up cannot pass as a green run.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import pytest

RABBIT_HOST = os.environ.get("ONESTACK_TEST_RABBIT_HOST", "127.0.0.1")
RABBIT_PORT = int(os.environ.get("ONESTACK_TEST_RABBIT_PORT", "5672"))


def require_or_skip(reason: str) -> NoReturn:
    """A service this test needs is missing: skip, or fail when ``ONESTACK_REQUIRE_SERVICES=1``."""
    if os.environ.get("ONESTACK_REQUIRE_SERVICES") == "1":
        pytest.fail(f"{reason} (ONESTACK_REQUIRE_SERVICES=1)", pytrace=False)
    pytest.skip(reason)


def reachable(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _rabbitmqctl(*args: str) -> None:
    subprocess.run(["rabbitmqctl", *args], check=True, capture_output=True, timeout=60)


@contextmanager
def rabbit_vhost() -> Iterator[str]:
    """A RabbitMQ vhost of this run's own (guest has all rights on it); yields its ``rabbit://`` URL."""
    if not reachable(RABBIT_HOST, RABBIT_PORT):
        require_or_skip(f"RabbitMQ is not reachable at {RABBIT_HOST}:{RABBIT_PORT}")
    if shutil.which("rabbitmqctl") is None:
        require_or_skip("rabbitmqctl is not installed (needed to make the test vhost)")
    vhost = f"onestack-test-{uuid.uuid4().hex[:12]}"
    try:
        _rabbitmqctl("add_vhost", vhost)
        _rabbitmqctl("set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")
    except subprocess.CalledProcessError as exc:
        require_or_skip(f"rabbitmqctl could not make a vhost: {exc.stderr.decode(errors='replace').strip()}")
    try:
        yield f"rabbit://guest:guest@{RABBIT_HOST}:{RABBIT_PORT}/{vhost}"
    finally:
        _rabbitmqctl("delete_vhost", vhost)
