"""Security compliance: password regex, history, minimum age, expiry, change on first use, lockout."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, make_cloud, wait_until

PREFIX = "ONESTACK_IDENTITY__SECURITY_COMPLIANCE__"


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    """Everything on except the minimum age (which would block the history checks)."""
    env = {
        "LOCKOUT_FAILURE_ATTEMPTS": "2",
        "LOCKOUT_DURATION": "2",
        "UNIQUE_LAST_PASSWORD_COUNT": "2",
        "PASSWORD_REGEX": r"^(?=.*\d).{7,}$",
        "PASSWORD_REGEX_DESCRIPTION": "Use 7 or more characters including a digit.",
        "PASSWORD_EXPIRES_DAYS": "10",
        "CHANGE_PASSWORD_UPON_FIRST_USE": "true",
    }
    running = make_cloud(tmp_path_factory.mktemp("strict"), {PREFIX + k: v for k, v in env.items()})
    running.start()
    yield running
    running.close()


def _api(conn: Any, method: str, path: str, **kw: Any) -> Any:
    return conn.session.request(path, method, endpoint_filter={"service_type": "identity"}, raise_exc=False, **kw)


def _auth(cloud: RunningCloud, user_id: str, password: str) -> httpx.Response:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": password}}}}}
    return httpx.post(f"{cloud.identity_url}/v3/auth/tokens", json=body)


def _change(cloud: RunningCloud, user_id: str, old: str, new: str) -> httpx.Response:
    body = {"user": {"original_password": old, "password": new}}
    return httpx.post(f"{cloud.identity_url}/v3/users/{user_id}/password", json=body)


def _create(admin: Any, password: str, **options: Any) -> dict[str, Any]:
    body = {"user": {"name": f"sc-{uuid.uuid4().hex[:10]}", "password": password, "options": options}}
    resp = _api(admin, "POST", "/v3/users", json=body)
    assert resp.status_code == 201, resp.text
    return dict(resp.json()["user"])


def _expires(doc: dict[str, Any]) -> datetime | None:
    raw = doc["password_expires_at"]
    return datetime.fromisoformat(raw) if raw else None


def test_password_regex(strict: RunningCloud) -> None:
    admin = strict.sdk("devstack-admin")
    before = {u["id"] for u in _api(admin, "GET", "/v3/users").json()["users"]}
    resp = _api(admin, "POST", "/v3/users", json={"user": {"name": "weak", "password": "short"}})
    assert resp.status_code == 400 and "7 or more characters" in resp.json()["error"]["message"]
    assert {u["id"] for u in _api(admin, "GET", "/v3/users").json()["users"]} == before
    user = _create(admin, "longer-1", ignore_change_password_upon_first_use=True)
    assert _api(admin, "PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "nodigits"}}).status_code == 400
    assert _change(strict, user["id"], "longer-1", "nodigits").status_code == 400
    assert _auth(strict, user["id"], "longer-1").status_code == 201


def test_change_upon_first_use_and_expiry(strict: RunningCloud) -> None:
    admin = strict.sdk("devstack-admin")
    user = _create(admin, "initial-1")
    expires = _expires(user)
    assert expires is not None and expires <= datetime.now(UTC) + timedelta(seconds=5)
    resp = _auth(strict, user["id"], "initial-1")
    assert resp.status_code == 401 and "expired" in resp.json()["error"]["message"]
    assert _change(strict, user["id"], "initial-1", "chosen-22").status_code == 204
    assert _auth(strict, user["id"], "chosen-22").status_code == 201
    shown = _api(admin, "GET", f"/v3/users/{user['id']}").json()["user"]
    expires = _expires(shown)
    assert expires is not None
    assert timedelta(days=9, hours=23) < expires - datetime.now(UTC) <= timedelta(days=10)
    # An admin reset expires the password again.
    assert _api(admin, "PATCH", f"/v3/users/{user['id']}", json={"user": {"password": "reset-333"}}).status_code == 200
    assert _auth(strict, user["id"], "reset-333").status_code == 401


def test_exemption_options(strict: RunningCloud) -> None:
    admin = strict.sdk("devstack-admin")
    first = _create(admin, "exempt-1", ignore_change_password_upon_first_use=True)
    assert _auth(strict, first["id"], "exempt-1").status_code == 201
    expires = _expires(first)
    assert expires is not None and expires > datetime.now(UTC) + timedelta(days=9)
    never = _create(admin, "exempt-2", ignore_change_password_upon_first_use=True, ignore_password_expiry=True)
    assert never["password_expires_at"] is None
    assert _auth(strict, never["id"], "exempt-2").status_code == 201


def test_password_history(strict: RunningCloud) -> None:
    admin = strict.sdk("devstack-admin")
    uid = _create(admin, "history-1", ignore_change_password_upon_first_use=True)["id"]
    assert _change(strict, uid, "history-1", "history-2").status_code == 204
    reused = _change(strict, uid, "history-2", "history-2")
    assert reused.status_code == 400 and "previous password" in reused.json()["error"]["message"]
    assert _change(strict, uid, "history-2", "history-1").status_code == 400
    assert _auth(strict, uid, "history-2").status_code == 201  # the refused changes changed nothing
    assert _change(strict, uid, "history-2", "history-3").status_code == 204
    # Only the last two count: the first one is free again.
    assert _change(strict, uid, "history-3", "history-1").status_code == 204
    # The admin reset route does not check the history.
    resp = _api(admin, "PATCH", f"/v3/users/{uid}",
                json={"user": {"password": "history-1", "options": {"ignore_change_password_upon_first_use": True}}})
    assert resp.status_code == 200
    assert _auth(strict, uid, "history-1").status_code == 201


def test_lockout(strict: RunningCloud) -> None:
    admin = strict.sdk("devstack-admin")
    uid = _create(admin, "lockout-1", ignore_change_password_upon_first_use=True)["id"]
    assert _auth(strict, uid, "lockout-1").status_code == 201
    for _ in range(2):
        assert _auth(strict, uid, "bad-password-9").status_code == 401
    locked = _auth(strict, uid, "lockout-1")
    assert locked.status_code == 401 and "locked" in locked.json()["error"]["message"]
    assert _change(strict, uid, "lockout-1", "lockout-2").status_code == 401  # locked for changes too
    wait_until(lambda: _auth(strict, uid, "lockout-1").status_code == 201, timeout=15, what="lockout to expire")
    # Exempt users are never locked.
    free = _create(admin, "lockout-3", ignore_change_password_upon_first_use=True,
                   ignore_lockout_failure_attempts=True)["id"]
    for _ in range(3):
        assert _auth(strict, free, "bad-password-9").status_code == 401
    assert _auth(strict, free, "lockout-3").status_code == 201


def test_lock_password_option(strict: RunningCloud) -> None:
    admin = strict.sdk("devstack-admin")
    uid = _create(admin, "locked-pw-1", ignore_change_password_upon_first_use=True, lock_password=True)["id"]
    assert _change(strict, uid, "locked-pw-1", "locked-pw-2").status_code == 400
    assert _auth(strict, uid, "locked-pw-1").status_code == 201


def test_minimum_password_age(fresh_cloud: RunningCloud) -> None:
    fresh_cloud.env[PREFIX + "MINIMUM_PASSWORD_AGE"] = "1"
    fresh_cloud.start()
    admin = fresh_cloud.sdk("devstack-admin")
    uid = _create(admin, "age-1")["id"]
    # An admin-set password may be changed at once; a self-chosen one must be kept a day.
    assert _change(fresh_cloud, uid, "age-1", "age-2").status_code == 204
    too_soon = _change(fresh_cloud, uid, "age-2", "age-3")
    assert too_soon.status_code == 400 and "1 day" in too_soon.json()["error"]["message"]
    assert _auth(fresh_cloud, uid, "age-2").status_code == 201
    assert _api(admin, "PATCH", f"/v3/users/{uid}", json={"user": {"password": "age-4"}}).status_code == 200
    assert _change(fresh_cloud, uid, "age-4", "age-5").status_code == 204
