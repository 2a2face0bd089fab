"""Keystone's attribute-mapping schemas: what each version accepts and the 400 it answers otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from onestack.core.api.faults import BadRequest
from onestack.identity.service.mapping_rules import prepare, validate_mapping

USER_RULE = {"local": [{"user": {"name": "{0}"}}], "remote": [{"type": "REMOTE_USER"}]}


def message(mapping: dict[str, Any]) -> str:
    with pytest.raises(BadRequest) as caught:
        validate_mapping(mapping)
    return caught.value.message


def test_every_kind_of_remote_requirement_and_local_entry_is_accepted() -> None:
    rules = [{
        "local": [{"user": {"id": "i", "name": "n", "email": "e", "type": "local", "domain": {"id": "default"}}},
                  {"group": {"id": "g"}}, {"group": {"name": "g", "domain": {"name": "Default"}}},
                  {"groups": "{1}", "domain": {"id": "default"}}, {"group_ids": "{2}"},
                  {"projects": [{"name": "p", "roles": [{"name": "member"}]}]}],
        "remote": [{"type": "a"}, {"type": "b", "any_one_of": ["x"], "regex": True}, {"type": "c", "not_any_of": []},
                   {"type": "d", "blacklist": ["y"]}, {"type": "e", "whitelist": ["z"]}],
    }]
    for version in ("1.0", "2.0", "3.0"):
        validate_mapping({"rules": rules, "schema_version": version})


def test_errors_are_every_schema_message_sorted_one_a_line() -> None:
    bad = {"rules": [{"local": [{"user": {"name": 1, "type": "robot"}}]}], "schema_version": "1.0"}
    assert message(bad) == "'remote' is a required property\n'robot' is not one of ['ephemeral', 'local']\n" \
                           "1 is not of type 'string'\n"


@pytest.mark.parametrize("mapping", [
    {"schema_version": "1.0"},                                                   # no rules
    {"rules": [], "schema_version": "1.0"},                                      # no rule
    {"rules": [{"local": [], "remote": []}], "schema_version": "1.0"},           # no remote requirement
    {"rules": [{**USER_RULE, "extra": 1}], "schema_version": "1.0"},             # unknown rule key
    {"rules": [{"local": [{"user": {"nick": "n"}}], "remote": [{"type": "a"}]}], "schema_version": "1.0"},
    {"rules": [{"local": [{"group": {"name": "g"}}], "remote": [{"type": "a"}]}], "schema_version": "1.0"},
    {"rules": [{"local": [], "remote": [{"type": "a", "any_one_of": ["x"], "whitelist": ["y"]}]}],
     "schema_version": "1.0"},                                                   # two requirement kinds at once
    {"rules": [{"local": [], "remote": [{"any_one_of": ["x"]}]}], "schema_version": "1.0"},  # no type
])
def test_malformed_mappings_are_refused(mapping: dict[str, Any]) -> None:
    assert message(mapping).endswith("\n")


def test_project_domains_need_2_0_and_projects_json_needs_3_0() -> None:
    with_domain = [{"local": [{"projects": [{"name": "p", "roles": [], "domain": {"id": "d"}}]}],
                    "remote": [{"type": "a"}]}]
    assert "Additional properties are not allowed ('domain' was unexpected)" in message(
        {"rules": with_domain, "schema_version": "1.0"})
    validate_mapping({"rules": with_domain, "schema_version": "2.0"})
    projects_json = [{"local": [{"projects_json": "{0}"}], "remote": [{"type": "a"}]}]
    assert "projects_json" in message({"rules": projects_json, "schema_version": "2.0"})
    validate_mapping({"rules": projects_json, "schema_version": "3.0"})


def test_schema_version_defaults_and_unknown_versions() -> None:
    assert prepare({"rules": [USER_RULE]}, "1.0")["schema_version"] == "1.0"
    assert prepare({"rules": [USER_RULE], "schema_version": ""}, "2.0")["schema_version"] == "2.0"
    assert prepare({"rules": [USER_RULE], "schema_version": "3.0"}, "1.0")["schema_version"] == "3.0"
    assert "schema_version" in message({"rules": [USER_RULE], "schema_version": "4.0"})
    assert "schema_version" in message({"rules": [USER_RULE], "schema_version": 2})
