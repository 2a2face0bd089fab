"""The policy engine: oslo.policy's rule language, defaults, overrides and the 403."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from onestack.core.api.faults import Forbidden
from onestack.core.policy import Enforcer, flatten_target, parse_rule

MEMBER = {"user_id": "u1", "project_id": "p1", "domain_id": None, "roles": ["member", "reader"],
          "system_scope": None, "is_admin_project": False, "token": {"user_id": "u1", "audit_ids": ["a1", "a2"]}}
ADMIN = dict(MEMBER, user_id="u0", roles=["Admin", "member", "reader"], is_admin_project=True)
SYSTEM_READER = dict(MEMBER, user_id="u9", project_id=None, roles=["reader"], system_scope="all")


def allowed(rule_text: str, creds: dict[str, Any], target: dict[str, Any] | None = None,
            extra: dict[str, str] | None = None) -> bool:
    enforcer = Enforcer({"the_rule": rule_text, **(extra or {})})
    try:
        enforcer.enforce("the_rule", target or {}, creds)
    except Forbidden:
        return False
    return True


@pytest.mark.parametrize(("rule", "member", "admin"), [
    ("role:member", True, True),
    ("role:admin", False, True),  # role names compare case-insensitively
    ("role:ADMIN", False, True),
    ("role:admin or role:member", True, True),
    ("role:admin and role:member", False, True),
    ("not role:admin", True, False),
    ("not not role:admin", False, True),
    ("role:reader and not role:admin", True, False),
    ("(role:admin or role:member) and role:reader", True, True),
    ("((role:admin))", False, True),
    ("role:nobody or role:admin and role:member", False, True),  # and binds tighter than or
    ("not role:admin and role:member", True, False),  # not binds tighter than and
    ("role:admin or (role:member and project_id:p1)", True, True),
    ("@", True, True),
    ("!", False, False),
    ("", True, True),  # an empty rule allows everyone, as in oslo.policy
    ("is_admin_project:True", False, True),
    ("user_id:'u0'", False, True),
])
def test_rule_language(rule: str, member: bool, admin: bool) -> None:
    assert allowed(rule, MEMBER) is member
    assert allowed(rule, ADMIN) is admin


def test_generic_checks_read_the_flattened_target() -> None:
    target = {"target": {"project": {"id": "p1", "domain_id": "d1"}, "user": {"id": "u1"}}}
    assert allowed("project_id:%(target.project.id)s", MEMBER, target)
    assert not allowed("project_id:%(target.project.id)s", MEMBER, {"target": {"project": {"id": "p2"}}})
    assert allowed("(user_id:%(target.user.id)s)", MEMBER, target)
    assert allowed("role:reader and (project_id:%(target.project.id)s)", MEMBER, target)
    assert not allowed("domain_id:%(target.project.domain_id)s", MEMBER, target)  # creds domain_id is None


def test_missing_target_value_never_matches() -> None:
    assert not allowed("user_id:%(target.user.id)s", MEMBER, {"target": {}})
    assert not allowed("user_id:%(target.user.id)s", MEMBER, {"target": {"user": {"id": None}}})
    assert allowed("not user_id:%(target.user.id)s", MEMBER, {"target": {}})


def test_dotted_credentials_and_lists() -> None:
    assert allowed("token.user_id:%(target.user_id)s", MEMBER, {"target": {"user_id": "u1"}})
    assert allowed("token.audit_ids:%(target.audit)s", MEMBER, {"target": {"audit": "a2"}})
    assert not allowed("token.audit_ids:%(target.audit)s", MEMBER, {"target": {"audit": "zz"}})
    assert not allowed("token.nothing.here:x", MEMBER)


def test_literals_on_either_side() -> None:
    assert allowed("'member':%(target.role.name)s", MEMBER, {"target": {"role": {"name": "member"}}})
    assert not allowed("'member':%(target.role.name)s", MEMBER, {"target": {"role": {"name": "admin"}}})
    assert allowed("True:%(target.enabled)s", MEMBER, {"target": {"enabled": True}})
    assert allowed('project_id:"p1"', MEMBER)
    assert allowed("system_scope:all", SYSTEM_READER)
    assert not allowed("system_scope:all", MEMBER)


def test_role_check_with_substitution() -> None:
    assert allowed("role:%(target.role.name)s", MEMBER, {"target": {"role": {"name": "reader"}}})
    assert not allowed("role:%(target.role.name)s", MEMBER, {"target": {}})


def test_rule_references() -> None:
    extra = {"admin_required": "role:admin", "owner": "user_id:%(target.user.id)s",
             "admin_or_owner": "rule:admin_required or rule:owner"}
    target = {"target": {"user": {"id": "u1"}}}
    assert allowed("rule:admin_or_owner", MEMBER, target, extra)
    assert allowed("rule:admin_or_owner", ADMIN, target, extra)
    assert not allowed("rule:admin_or_owner", dict(MEMBER, user_id="u2"), target, extra)
    assert not allowed("rule:no_such_rule", ADMIN, target, extra)


def test_unknown_rule_falls_back_to_default() -> None:
    creds = MEMBER
    with pytest.raises(Forbidden):
        Enforcer({"a": "@"}).enforce("identity:unknown", {}, creds)  # no default: deny
    Enforcer({"default": "role:member"}).enforce("identity:unknown", {}, creds)
    with pytest.raises(Forbidden):
        Enforcer({"default": "role:admin"}).enforce("identity:unknown", {}, creds)


def test_forbidden_message_names_the_rule() -> None:
    with pytest.raises(Forbidden) as info:
        Enforcer({"identity:list_users": "role:admin"}).enforce("identity:list_users", {}, MEMBER)
    assert info.value.status == 403
    assert info.value.message == "You are not authorized to perform the requested action: identity:list_users."


@pytest.mark.parametrize("bad", [
    "role:admin and", "(role:admin", "role:admin)", "role:a role:b", "admin", "or role:a", "not",
])
def test_syntax_errors(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_rule(bad)


def test_policy_file_overrides_defaults_and_reloads(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text('"identity:get_user": "role:member"\n"identity:extra": "!"\n')
    enforcer = Enforcer({"identity:get_user": "role:admin", "identity:list_users": "role:member"}, str(path))
    enforcer.enforce("identity:get_user", {}, MEMBER)  # the file loosened it
    enforcer.enforce("identity:list_users", {}, MEMBER)  # defaults still apply to other rules
    with pytest.raises(Forbidden):
        enforcer.enforce("identity:extra", {}, ADMIN)
    assert enforcer.rules()["identity:get_user"] == "role:admin"  # rules() shows the defaults

    path.write_text('"identity:get_user": "role:admin"\n')
    stamp = path.stat().st_mtime + 5  # a distinct mtime, without waiting for the clock
    os.utime(path, (stamp, stamp))
    with pytest.raises(Forbidden):
        enforcer.enforce("identity:get_user", {}, MEMBER)


def test_missing_policy_file_means_defaults(tmp_path: Path) -> None:
    Enforcer({"r": "role:member"}, str(tmp_path / "absent.yaml")).enforce("r", {}, MEMBER)


def test_policy_file_must_be_a_mapping(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("- role:admin\n")
    with pytest.raises(ValueError, match="mapping"):
        Enforcer({}, str(path))


def test_json_policy_file(tmp_path: Path) -> None:
    path = tmp_path / "policy.json"
    path.write_text('{"r": "role:member"}')
    Enforcer({"r": "!"}, str(path)).enforce("r", {}, MEMBER)


def test_flatten_target() -> None:
    flat = flatten_target({"target": {"project": {"id": "p", "tags": ["a"]}}})
    assert flat["target.project.id"] == "p"
    assert flat["target.project.tags"] == ["a"]
    assert flat["target.project"] == {"id": "p", "tags": ["a"]}
