"""A Swift account of its own for a test module: a new project with a member user, the account's
URL and token, python-swiftclient and openstacksdk connections, and raw HTTP for exact answers.

An account of its own keeps the account statistics and listings a test checks free of what other
test modules put in the shared cloud's projects."""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
import requests
import swiftclient.client

from tests.functional.cloud import RunningCloud


@dataclass
class SwiftAccount:
    url: str  # the account's storage URL: .../object-store/v1/AUTH_<project id>
    token: str
    project_id: str
    project_name: str
    username: str
    password: str
    sdk: Any
    swift: swiftclient.client.Connection

    @property
    def name(self) -> str:
        return "AUTH_" + self.project_id

    def request(self, method: str, path: str = "", *, headers: dict[str, str] | None = None,
                params: dict[str, str] | None = None, data: bytes | None = None,
                token: str | None = None) -> requests.Response:
        """``method`` on ``<account URL><path>`` (path already quoted) with this account's token."""
        h = {"X-Auth-Token": self.token if token is None else token, **(headers or {})}
        if token == "":
            h.pop("X-Auth-Token")
        return requests.request(method, self.url + path, headers=h, params=params, data=data, timeout=60)


def new_account(cloud: RunningCloud, admin: Any, role: str = "member") -> SwiftAccount:
    """A project with one user holding ``role`` on it, and that user's way into its account."""
    suffix = uuid.uuid4().hex[:8]
    project = admin.identity.create_project(name=f"swift-{suffix}", domain_id="default")
    password = f"pw-{suffix}"
    user = admin.identity.create_user(name=f"swift-{suffix}", password=password, domain_id="default",
                                      default_project_id=project.id)
    admin.identity.assign_project_role_to_user(project, user, admin.identity.find_role(role))
    conn = cloud.sdk("devstack", auth={"username": user.name, "password": password, "project_name": project.name})
    token = conn.session.get_token()
    url = conn.object_store.get_endpoint().rstrip("/")
    assert url.endswith("/v1/AUTH_" + project.id), url
    swift = swiftclient.client.Connection(preauthurl=url, preauthtoken=token, retries=0)
    return SwiftAccount(url=url, token=token, project_id=project.id, project_name=project.name,
                        username=user.name, password=password, sdk=conn, swift=swift)


def cli_env(account: SwiftAccount, cloud: RunningCloud) -> dict[str, str]:
    """OS_* variables that make the ``openstack`` CLI act as the account's user."""
    cfg = cloud.cloud_config("devstack")
    auth = cfg["auth"]
    return {
        "OS_AUTH_URL": auth["auth_url"], "OS_USERNAME": account.username, "OS_PASSWORD": account.password,
        "OS_PROJECT_NAME": account.project_name, "OS_USER_DOMAIN_NAME": "Default",
        "OS_PROJECT_DOMAIN_NAME": "Default", "OS_IDENTITY_API_VERSION": "3",
        "OS_REGION_NAME": cfg.get("region_name", "RegionOne"),
    }


def openstack_cli(account: SwiftAccount, cloud: RunningCloud) -> Callable[..., str]:
    """``cli(*args)``: the ``openstack`` CLI run as the account's user (none of this process's
    OS_* variables); its stdout, the test failing on a non-zero exit."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OS_")}
    env.update(cli_env(account, cloud))

    def cli(*args: str) -> str:
        proc = subprocess.run(["openstack", *args], env=env, capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    return cli


def account_fixture(role: str = "member") -> Any:
    """A module-scoped fixture: a new project and user with ``role`` (``acct = account_fixture()``)."""

    @pytest.fixture(scope="module")
    def fixture(cloud: RunningCloud, admin: Any) -> SwiftAccount:
        return new_account(cloud, admin, role=role)

    return fixture
