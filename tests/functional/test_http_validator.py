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


def test_http_directory_answers_like_the_local_one(cloud: RunningCloud, admin: Any) -> None:
    """The identity directory over HTTP (services running apart) and in-process agree."""
    import uuid

    from onestack.client.identity import HttpDirectory
    from onestack.core.db import Database, create_db_engine
    from onestack.identity.directory import LocalDirectory

    project = admin.identity.create_project(name=f"dir-{uuid.uuid4().hex[:8]}", domain_id="default")
    service = next(iter(admin.identity.services(type="image")))
    resource = f"res_{uuid.uuid4().hex[:6]}"
    registered = admin.identity.create_registered_limit(service_id=service.id, resource_name=resource, default_limit=7)
    remote = HttpDirectory(cloud.identity_url, "onestack", cloud.password("onestack"), cache_ttl=0)
    local = LocalDirectory(Database(create_db_engine(cloud.db_url)))
    try:
        for directory in (remote, local):
            assert directory.project_exists(project.id) is True
            assert directory.project_exists("0" * 32) is False
            assert directory.project_exists("default") is False, "a domain is not a project"
            assert directory.limit("image", resource, project.id) == 7
            assert directory.limit("image", "no_such_resource", project.id) is None
        own = admin.identity.create_limit(service_id=service.id, project_id=project.id, resource_name=resource,
                                          resource_limit=3)
        assert remote.limit("image", resource, project.id) == 3
        assert local.limit("image", resource, project.id) == 3
        admin.identity.delete_limit(own)
    finally:
        admin.identity.delete_registered_limit(registered)
        admin.identity.delete_project(project)
        local.db.dispose()
