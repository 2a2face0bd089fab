"""core.auth.HttpTokenValidator: how a service running apart validates tokens through identity."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from onestack.core.api.faults import Unauthorized
from onestack.core.auth import HttpTokenValidator
from tests.functional.cloud import RunningCloud


def _validator(cloud: RunningCloud, ttl: float = 60.0) -> HttpTokenValidator:
    return HttpTokenValidator(cloud.identity_url, "onestack", cloud.password("onestack"), "service", ttl)


def test_validates_a_user_token_with_the_service_token(cloud: RunningCloud, demo: Any) -> None:
    token = cloud.sdk("devstack").session.get_token()

    async def run() -> Any:
        validator = _validator(cloud)
        first = await validator.validate(token)
        second = await validator.validate(token)  # served from the cache
        return first, second

    first, second = asyncio.run(run())
    assert first.user_name == "demo"
    assert first.project_name == "demo"
    assert {"member", "reader"} <= set(first.roles)
    assert second is first


def test_rejects_a_tampered_token(cloud: RunningCloud) -> None:
    token = cloud.sdk("devstack").session.get_token()
    tampered = token[:-6] + ("A" if token[-6] != "A" else "B") + token[-5:]

    async def run() -> None:
        await _validator(cloud).validate(tampered)

    with pytest.raises(Unauthorized):
        asyncio.run(run())


def test_a_wrong_service_password_is_unauthorized(cloud: RunningCloud) -> None:
    token = cloud.sdk("devstack").session.get_token()

    async def run() -> None:
        validator = HttpTokenValidator(cloud.identity_url, "onestack", "wrong", "service", 60.0)
        await validator.validate(token)

    with pytest.raises(Unauthorized):
        asyncio.run(run())
