"""The accounts DevStack's lib/keystone creates (create_keystone_accounts), so scripts written
against DevStack find them: the ``anotherrole`` role, the ``admins`` and ``nonadmins`` groups with
their role grants (and no members: DevStack adds nobody to them), and the ``invisible_to_admin``
project where demo is a member and admin has no role."""

from __future__ import annotations

from typing import Any

from tests.functional.cloud import RunningCloud


def assignments(cloud: RunningCloud, *args: str) -> set[tuple[str, str, str]]:
    """(role, user or group, project) of ``openstack role assignment list --names`` with ``args``."""
    rows = cloud.cli("role", "assignment", "list", "--names", *args)
    return {(r["Role"], r["User"] or r["Group"], r["Project"]) for r in rows}


def test_anotherrole(cloud: RunningCloud) -> None:
    role = cloud.cli("role", "show", "anotherrole")
    assert role["name"] == "anotherrole" and role["domain_id"] is None
    granted = assignments(cloud, "--role", "anotherrole")
    assert granted == {("anotherrole", "demo@Default", "demo@Default"),
                       ("anotherrole", "alt_demo@Default", "alt_demo@Default"),
                       ("anotherrole", "nonadmins@Default", "demo@Default"),
                       ("anotherrole", "nonadmins@Default", "alt_demo@Default")}


def test_groups_and_their_grants(cloud: RunningCloud) -> None:
    admins = cloud.cli("group", "show", "admins")
    nonadmins = cloud.cli("group", "show", "nonadmins")
    assert (admins["description"], admins["domain_id"]) == ("openstack admin group", "default")
    assert (nonadmins["description"], nonadmins["domain_id"]) == ("non-admin group", "default")
    assert assignments(cloud, "--group", "admins") == {("admin", "admins@Default", "admin@Default")}
    assert assignments(cloud, "--group", "nonadmins") == {
        (role, "nonadmins@Default", f"{project}@Default")
        for role in ("member", "anotherrole") for project in ("demo", "alt_demo")}
    # DevStack grants the groups roles but adds no user to them.
    for group, user in (("admins", "admin"), ("nonadmins", "demo"), ("nonadmins", "alt_demo")):
        checked = cloud.cli("group", "contains", "user", group, user, json_out=False, check=False)
        assert f"{user} not in group {group}" in checked.stderr, checked.stderr
    assert cloud.cli("user", "list", "--group", "admins") == []


def test_invisible_to_admin(cloud: RunningCloud, admin: Any) -> None:
    project = cloud.cli("project", "show", "invisible_to_admin")
    assert project["domain_id"] == "default" and project["enabled"] is True
    assert assignments(cloud, "--project", "invisible_to_admin") == {
        ("member", "demo@Default", "invisible_to_admin@Default")}
    # Demo can work in it; admin's own projects do not include it.
    mine = {p["Name"] for p in cloud.cli("project", "list", "--my-projects", cloud="devstack")}
    assert {"demo", "invisible_to_admin"} <= mine
    assert "invisible_to_admin" not in {p["Name"] for p in cloud.cli("project", "list", "--my-projects")}
    token = cloud.cli("--os-project-name", "invisible_to_admin", "token", "issue", cloud="devstack")
    assert token["project_id"] == project["id"]
