"""Identity's conventions for the shared request layer: Keystone's wording, policy target and credentials."""

from __future__ import annotations

import pytest

from onestack.core.api.faults import BadRequest
from onestack.core.api.validation import validate
from onestack.core.auth import AuthContext
from onestack.identity.api.conventions import CONVENTIONS
from onestack.identity.api.schemas import BOOLISH, entity, normalise_bools

CALLER = AuthContext(token="t", user_id="u1", project_id="p1", project_domain_id="d1", roles=["member"])


def test_policy_target_carries_the_callers_token_and_merges_the_handlers() -> None:
    assert CONVENTIONS.policy_target(CALLER, None) == {"target": {"token": {"user_id": "u1"}}}
    merged = CONVENTIONS.policy_target(CALLER, {"target": {"project": {"id": "p2"}}, "user_id": "u2"})
    assert merged == {"target": {"token": {"user_id": "u1"}, "project": {"id": "p2"}}, "user_id": "u2"}
    # A handler checking someone else's token names it in place of the caller's.
    other = CONVENTIONS.policy_target(CALLER, {"target": {"token": {"user_id": "u9"}}})
    assert other["target"]["token"] == {"user_id": "u9"}


def test_credentials_name_the_scoped_projects_domain() -> None:
    creds = CONVENTIONS.policy_credentials(CALLER)
    assert creds["token"]["project"] == {"domain": {"id": "d1"}}
    unscoped = AuthContext(token="t", user_id="u1")
    assert "project" not in CONVENTIONS.policy_credentials(unscoped)["token"]


def _message(data: object, schema: dict[str, object], wrapper: str | None = None) -> str:
    with pytest.raises(BadRequest) as err:
        validate(data, schema, on_error=CONVENTIONS.schema_error, draft=CONVENTIONS.schema_draft, wrapper=wrapper)
    return str(err.value.message)


def test_schema_failures_are_worded_as_keystone_does() -> None:
    schema = entity({"name": {"type": "string", "maxLength": 3}, "enabled": BOOLISH}, ("name",))
    assert _message({}, schema, "project") == "Invalid input for field 'name': 'name' is a required property"
    assert _message({"name": "long"}, schema, "project") == "Invalid input for field 'name': 'long' is too long"
    assert _message({"name": "x", "enabled": "maybe"}, schema).startswith(
        "Invalid input for field 'enabled': 'maybe' is not one of [True, False, '1', 'true'")


def test_body_booleans_become_booleans_and_null_means_the_default() -> None:
    data = normalise_bools({"enabled": "False", "is_domain": None, "other": "y"}, "enabled", "is_domain")
    assert data == {"enabled": False, "other": "y"}
    assert normalise_bools({"enabled": "Y"}, "enabled") == {"enabled": True}
