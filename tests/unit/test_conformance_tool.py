"""tools/conformance: tempest.conf generation, regex building, result parsing and the report."""

from __future__ import annotations

import configparser
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from conformance_lib import report, tempest_conf
from conformance_lib.cli import pass_regex
from conformance_lib.cloud import base_from_url
from conformance_lib.results import PassResult, display_id, error_summary, from_dump, module_of

TRACEBACK = """Traceback (most recent call last):
  File "/venv/tempest/api/identity/admin/v3/test_roles.py", line 40, in test_x
    self.client.show_role(role_id)
  File "/venv/tempest/lib/services/identity/v3/roles_client.py", line 9, in show_role
    resp, body = self.get(url)
  File "/venv/tempest/lib/common/rest_client.py", line 100, in get
    raise exceptions.NotFound(resp_body)
tempest.lib.exceptions.NotFound: Object not found
Details: {'code': 404, 'message': 'Could not find role'}
"""
ROLE_TEST = "tempest.api.identity.admin.v3.test_roles.RolesV3TestJSON.test_get_role[id-26c8,smoke]"


def _parse(text: str) -> configparser.ConfigParser:
    conf = configparser.ConfigParser(interpolation=None)
    conf.read_string(text)
    return conf


def test_tempest_conf_points_at_identity_with_admin_credentials(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://127.0.0.1:5123/identity/", admin_password="pw-1", workspace=tmp_path,
        available_services={"identity"})))
    assert conf["identity"]["uri_v3"] == "http://127.0.0.1:5123/identity/v3"
    assert conf["identity"]["region"] == "RegionOne"
    assert conf["auth"]["admin_password"] == "pw-1"
    assert conf["auth"]["admin_domain_name"] == "Default"
    assert conf["auth"]["use_dynamic_credentials"] == "True"
    assert conf["auth"]["create_isolated_networks"] == "False"
    assert conf["identity-feature-enabled"]["security_compliance"] == "False"
    assert conf["identity-feature-enabled"]["api_v2"] == "False"
    assert conf["identity-feature-enabled"]["trust"] == "True"
    assert all(conf["service_available"][f] == "False" for f in tempest_conf.AVAILABLE_FLAGS)
    assert conf["DEFAULT"]["log_dir"] == str(tmp_path / "logs")


def test_security_compliance_pass_agrees_with_onestack_settings(tmp_path: Path) -> None:
    sc = tempest_conf.SecurityCompliance(lockout_failure_attempts=3, lockout_duration=7)
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path, security_compliance=sc)))
    assert conf["identity-feature-enabled"]["security_compliance"] == "True"
    assert conf["identity"]["user_lockout_failure_attempts"] == "3"
    assert conf["identity"]["user_lockout_duration"] == "7"
    import tomllib

    toml = tomllib.loads(sc.onestack_toml())["identity"]["security_compliance"]
    assert toml == {"lockout_failure_attempts": 3, "lockout_duration": 7,
                    "unique_last_password_count": 2, "minimum_password_age": 0}


def test_catalog_services_switch_on_their_tempest_flags(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "compute", "volumev3"})))
    assert conf["service_available"]["nova"] == "True"
    assert conf["service_available"]["cinder"] == "True"
    assert conf["service_available"]["neutron"] == "False"


def test_pass_regex_combines_service_user_and_extra_filters() -> None:
    both = re.compile(pass_regex(["identity"], "test_users", r"\.v3\.test_users\."))
    assert both.search("tempest.api.identity.v3.test_users.IdentityV3UsersTest.test_user_account_lockout[id-a]")
    assert not both.search("tempest.api.identity.admin.v3.test_roles.RolesV3TestJSON.test_x")
    plain = re.compile(pass_regex(["identity"], None))
    assert plain.search(ROLE_TEST)
    assert not plain.search("tempest.api.compute.servers.test_servers.ServersTestJSON.test_x")
    assert not plain.search("tempest.lib.tests.fake_identity.test_x")


def test_test_ids_are_shown_without_tags_and_grouped_by_module() -> None:
    assert display_id(ROLE_TEST) == "tempest.api.identity.admin.v3.test_roles.RolesV3TestJSON.test_get_role"
    assert module_of(ROLE_TEST) == "tempest.api.identity.admin.v3.test_roles"
    fixture = "setUpClass (tempest.api.identity.v3.test_tokens.TokensV3Test)"
    assert display_id(fixture) == "tempest.api.identity.v3.test_tokens.TokensV3Test (setUpClass)"
    assert module_of(fixture) == "tempest.api.identity.v3.test_tokens"


def test_error_summary_is_the_exception_line_and_its_details() -> None:
    summary = error_summary(TRACEBACK)
    assert summary.startswith("[roles_client.show_role] tempest.lib.exceptions.NotFound: Object not found Details:")
    assert error_summary("") == "(no traceback recorded)"
    assert len(error_summary(TRACEBACK, limit=40)) == 40


def test_from_dump_normalises_statuses() -> None:
    tests = from_dump([
        {"id": "a.test_a.A.test_1", "status": "success"},
        {"id": "a.test_a.A.test_2", "status": "xfail"},
        {"id": "a.test_a.A.test_3", "status": "uxsuccess"},
        {"id": "a.test_a.A.test_4", "status": "skip", "reason": " not here \n"},
        {"id": "a.test_a.A.test_5", "status": "inprogress"},
    ])
    assert {t.id[-1]: t.status for t in tests} == {"1": "pass", "2": "pass", "3": "fail", "4": "skip"}
    assert [t.reason for t in tests if t.status == "skip"] == ["not here"]


@pytest.fixture
def finished() -> list[PassResult]:
    tests = from_dump([
        {"id": ROLE_TEST, "status": "fail", "traceback": TRACEBACK},
        {"id": "tempest.api.identity.v3.test_users.IdentityV3UsersTest.test_lock[id-1]", "status": "skip",
         "reason": "Security compliance not available."},
        {"id": "tempest.api.identity.v3.test_tokens.TokensV3Test.test_ok[id-2]", "status": "success"},
    ])
    return [PassResult(name="normal", regex="^x", tests=tests, seconds=90.0)]


def test_doc_keeps_the_hand_written_part_and_lists_failures_and_skips(
        tmp_path: Path, finished: list[PassResult]) -> None:
    doc = tmp_path / "conformance.md"
    doc.write_text(f"# Title\n{report.BEGIN}\nOur own words.\n{report.END}\nold generated text\n")
    report.write_doc(doc, finished, report.RunInfo(command="python tools/conformance", commit="abc", when="now"))
    text = doc.read_text()
    assert f"{report.BEGIN}\nOur own words.\n{report.END}" in text
    assert "old generated text" not in text
    assert "| identity | normal | 3 | 1 | 1 | 1 | 1.5 |" in text
    assert "`tempest.api.identity.admin.v3.test_roles.RolesV3TestJSON.test_get_role` — " \
           "[roles_client.show_role] tempest.lib.exceptions.NotFound" in text
    assert "- **Security compliance not available.** (1)" in text


def test_new_doc_gets_a_hand_written_stub(tmp_path: Path, finished: list[PassResult]) -> None:
    doc = tmp_path / "new.md"
    report.write_doc(doc, finished, report.RunInfo(command="c", commit="abc", when="now"))
    assert report.handwritten(doc.read_text()).startswith(report.BEGIN)


def test_failure_list_groups_by_module(finished: list[PassResult]) -> None:
    text = report.render_failures(finished, report.RunInfo(command="c", commit="abc", when="now"))
    assert "tempest.api.identity.admin.v3.test_roles (1)\n  RolesV3TestJSON.test_get_role: " \
           "[roles_client.show_role] tempest.lib.exceptions.NotFound: Object not found" in text
    assert "normal: 1 failed of 3" in text


@pytest.mark.parametrize("url", ["http://h:5/", "http://h:5/identity", "http://h:5/identity/v3/"])
def test_any_identity_url_gives_the_server_root(url: str) -> None:
    assert base_from_url(url) == "http://h:5"


def test_exclusions_need_a_reason() -> None:
    from conformance_lib.cli import parse_excludes

    text = "# comment\n\ntempest\\.api\\.x\\.  # not offered\n"
    assert parse_excludes(text) == [("tempest\\.api\\.x\\.", "not offered")]
    with pytest.raises(SystemExit):
        parse_excludes("tempest\\.api\\.y\\.\n")


def test_repository_exclude_list_parses() -> None:
    from conformance_lib.cli import EXCLUDE_FILE, parse_excludes

    for regex, reason in parse_excludes(EXCLUDE_FILE.read_text()):
        re.compile(regex)
        assert reason


def test_module_table_has_a_column_per_pass(finished: list[PassResult]) -> None:
    second = PassResult(name="security-compliance", regex="^x", tests=finished[0].tests[:1])
    text = report.render_doc("intro", [*finished, second], report.RunInfo(command="c", commit="a", when="w"))
    assert "| module | normal: passed / failed / skipped | security-compliance: passed / failed / skipped |" in text
    assert "| `tempest.api.identity.admin.v3.test_roles` | 0 / 1 / 0 | 0 / 1 / 0 |" in text
    assert "| `tempest.api.identity.v3.test_tokens` | 1 / 0 / 0 | 0 / 0 / 0 |" in text
