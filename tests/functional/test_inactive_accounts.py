"""``disable_user_account_days_inactive``: an account unused for that long cannot authenticate."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from sqlalchemy import DateTime, bindparam, text

from tests.functional.cloud import RunningCloud, make_cloud


@pytest.fixture(scope="module")
def inactive_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    env = {"ONESTACK_IDENTITY__SECURITY_COMPLIANCE__DISABLE_USER_ACCOUNT_DAYS_INACTIVE": "2"}
    running = make_cloud(tmp_path_factory.mktemp("inactive"), env)
    running.start()
    yield running
    running.close()


def _auth(cloud: RunningCloud, user_id: str, password: str) -> httpx.Response:
    body = {"auth": {"identity": {"methods": ["password"], "password": {"user": {"id": user_id, "password": password}}}}}
    return httpx.post(f"{cloud.identity_url}/v3/auth/tokens", json=body)


def test_inactive_account_is_refused(inactive_cloud: RunningCloud) -> None:
    admin = inactive_cloud.sdk("devstack-admin")
    user = admin.identity.create_user(name=f"idle-{uuid.uuid4().hex[:8]}", password="pw-idle-1", domain_id="default")
    assert _auth(inactive_cloud, user.id, "pw-idle-1").status_code == 201
    with inactive_cloud.engine() as engine, engine.begin() as db:
        seen: object = db.execute(text('SELECT last_active_at FROM "user" WHERE id = :id'), {"id": user.id}).scalar_one()
        assert seen is not None, "a successful authentication records the day of activity"
        # The clock cannot be moved; the record of the last activity can (naive UTC, as stored).
        long_ago = (datetime.now(UTC) - timedelta(days=3)).replace(tzinfo=None)
        update = text('UPDATE "user" SET last_active_at = :at WHERE id = :id').bindparams(bindparam("at", type_=DateTime))
        db.execute(update, {"at": long_ago, "id": user.id})
    refused = _auth(inactive_cloud, user.id, "pw-idle-1")
    assert refused.status_code == 401
    assert "disabled" in refused.json()["error"]["message"]
    # Another user who is active is unaffected.
    assert _auth(inactive_cloud, admin.current_user_id, inactive_cloud.password("admin")).status_code == 201
