"""tools/conformance: tempest.conf generation, regex building, result parsing and the report."""

from __future__ import annotations

import configparser
import dataclasses
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools"))

from conformance_lib import report, tempest_conf
from conformance_lib.cli import error_records, pass_regex
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
    assert "network" not in conf and "network-feature-enabled" not in conf
    assert conf["auth"]["create_isolated_networks"] == "False"
    assert conf["compute-feature-enabled"]["interface_attach"] == "False"


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


IMAGE_TEST = "tempest.api.image.v2.test_images.BasicOperationsImagesTest.test_delete_image[id-f848,smoke]"


def test_image_in_catalog_configures_glance(tmp_path: Path) -> None:
    facts = tempest_conf.ImageFacts(image_ref="11111111-aaaa", image_ref_alt="22222222-bbbb",
                                    format_enforcement=False)
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "image"}, image=facts)))
    assert conf["service_available"]["glance"] == "True"
    assert conf["enforce_scope"]["glance"] == "True"
    assert conf["service_available"]["nova"] == "False"
    assert conf["image"]["endpoint_type"] == "public"
    assert conf["image"]["region"] == "RegionOne"
    assert conf["image"]["container_formats"].split(",")[0] == "bare"
    assert "127.0.0.1" in conf["image"]["http_image"]
    features = conf["image-feature-enabled"]
    assert (features["import_image"], features["os_glance_reserved"], features["do_secure_hash"]) == \
        ("True", "True", "True")
    assert (features["manage_locations"], features["http_store_enabled"], conf["image"]["image_caching_enabled"]) \
        == ("False", "False", "False")
    assert features["image_format_enforcement"] == "False"
    assert (conf["compute"]["image_ref"], conf["compute"]["image_ref_alt"]) == ("11111111-aaaa", "22222222-bbbb")
    cached = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "image"}, image=tempest_conf.ImageFacts(caching=True))))
    assert cached["image"]["image_caching_enabled"] == "True"  # the cache API answered


def test_served_http_image_feeds_web_download(tmp_path: Path) -> None:
    facts = tempest_conf.ImageFacts(import_methods=("glance-direct", "web-download"),
                                    http_image="http://127.0.0.1:4567/cirros.qcow2")
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "image"}, image=facts)))
    assert conf["image"]["http_image"] == conf["image"]["http_qcow2_image"] == "http://127.0.0.1:4567/cirros.qcow2"


def test_image_server_serves_a_qcow2() -> None:
    import urllib.request

    from conformance_lib.image_server import PATH, image_server

    server = image_server()
    try:
        with urllib.request.urlopen(server.url(PATH), timeout=10) as resp:
            assert resp.read(4) == b"QFI\xfb"
        assert server.cloud_env() == {"ONESTACK_IMAGE__IMPORT_FILTERING_ALLOWED_PORTS": f"80,443,{server.port}"}
    finally:
        server.close()


def test_without_image_service_there_is_no_image_section(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path, available_services={"identity"})))
    assert not conf.has_section("image") and not conf.has_section("image-feature-enabled")


def test_image_refs_are_left_out_until_the_cloud_has_images(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "image"})))
    assert conf["image-feature-enabled"]["image_format_enforcement"] == "True"
    assert not conf.has_section("compute")


def test_formats_keep_tempest_order_and_only_what_the_cloud_accepts() -> None:
    offered = ["ploop", "raw", "qcow2", "iso"]
    assert tempest_conf.ordered_formats(offered, tempest_conf.TEMPEST_DISK_FORMATS) == ("qcow2", "raw", "iso", "ploop")
    assert tempest_conf.ordered_formats(None, tempest_conf.TEMPEST_DISK_FORMATS) == tempest_conf.TEMPEST_DISK_FORMATS


def test_image_regex_selects_only_image_tests() -> None:
    image = re.compile(pass_regex(["image"], None))
    assert image.search(IMAGE_TEST)
    assert not image.search(ROLE_TEST)
    both = re.compile(pass_regex(["identity", "image"], None))
    assert both.search(IMAGE_TEST) and both.search(ROLE_TEST)
    assert tempest_conf.service_for_test(IMAGE_TEST) == "image"


def _two_service_passes() -> list[PassResult]:
    normal = PassResult(name="normal", regex="^x", services=["identity", "image"], offered=["identity", "image"],
                        tests=from_dump([
                            {"id": ROLE_TEST, "status": "success"},
                            {"id": IMAGE_TEST, "status": "fail", "traceback": TRACEBACK},
                            {"id": IMAGE_TEST.replace("delete", "update"), "status": "skip", "reason": "r"},
                        ]))
    sc = PassResult(name="security-compliance", regex="^y", services=["identity"], offered=["identity", "image"],
                    tests=from_dump([{"id": ROLE_TEST, "status": "success"}]))
    return [normal, sc]


def test_verdicts_are_per_service_over_the_passes_that_ran_it() -> None:
    from conformance_lib.cli import service_verdicts

    verdicts = service_verdicts(_two_service_passes())
    assert verdicts == {"identity": "passed (2 passed, 0 skipped)", "image": "FAILED (1 of 2 tests failed)"}
    empty = PassResult(name="normal", regex="^x", services=["image"])
    assert service_verdicts([empty]) == {"image": "FAILED (no test results)"}


def test_summary_has_one_row_per_service_and_pass_that_ran_it() -> None:
    text = report.render_doc("intro", _two_service_passes(), report.RunInfo(command="c", commit="a", when="w"))
    assert "| identity | normal | 1 | 1 | 0 | 0 | 0.0 |" in text
    assert "| identity | security-compliance | 1 | 1 | 0 | 0 | 0.0 |" in text
    assert "| image | normal | 2 | 0 | 1 | 1 | 0.0 |" in text
    assert "| image | security-compliance" not in text
    assert "### image, by test module" in text
    assert "| module | normal: passed / failed / skipped |\n" in text


def test_only_a_run_of_every_offered_service_rewrites_the_page() -> None:
    from conformance_lib.cli import _canonical, _parser

    passes = _two_service_passes()
    assert _canonical(_parser().parse_args(["--service", "all"]), passes)
    assert _canonical(_parser().parse_args([]), passes)
    assert not _canonical(_parser().parse_args(["--service", "identity", "--regex", "x"]), passes)
    image_only = [PassResult(name="normal", regex="^x", services=["image"], offered=["identity", "image"])]
    assert not _canonical(_parser().parse_args(["--service", "image"]), image_only)


class _FakeGlance:
    """Just enough of an image API for ``cloud.image_facts``: schema, list, create, upload, delete."""

    def __init__(self, refuse_upload: bool) -> None:
        import http.server
        import json
        import threading

        calls: list[str] = []
        images = [
            {"id": "user-old", "status": "active", "created_at": "2020-01-01T00:00:00Z", "name": "u"},
            {"id": "alt", "status": "active", "created_at": "2026-01-01T00:00:00Z", "name": "b-alt",
             "onestack_builtin": "true"},
            {"id": "main", "status": "active", "created_at": "2026-01-01T00:00:00Z", "name": "b",
             "onestack_builtin": "true"},
            {"id": "queued", "status": "queued", "created_at": "2019-01-01T00:00:00Z", "name": "q"},
        ]
        schema = {"properties": {"disk_format": {"enum": [None, "raw", "qcow2", "ploop"]},
                                 "container_format": {"enum": [None, "ovf", "bare"]}}}

        class Handler(http.server.BaseHTTPRequestHandler):
            def _send(self, code: int, body: object = None) -> None:
                data = json.dumps(body).encode() if body is not None else b""
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                calls.append(f"GET {self.path}")
                self._send(200, schema if "schemas" in self.path else {"images": images})

            def do_POST(self) -> None:
                calls.append("POST")
                self.rfile.read(int(self.headers["Content-Length"]))
                self._send(201, {"id": "probe"})

            def do_PUT(self) -> None:
                calls.append("PUT")
                self.rfile.read(int(self.headers["Content-Length"]))
                self._send(400 if refuse_upload else 204)

            def do_DELETE(self) -> None:
                calls.append(f"DELETE {self.path}")
                self._send(204)

            def log_message(self, *args: object) -> None:
                pass

        self.calls = calls
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/image"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("refuse", [True, False])
def test_image_facts_come_from_the_running_image_service(refuse: bool) -> None:
    from conformance_lib import cloud

    fake = _FakeGlance(refuse_upload=refuse)
    try:
        facts = cloud.image_facts(cloud.Target("http://unused", None, "pw"),
                                  cloud.Admin("tok", {"identity": "http://x", "image": fake.url}))
    finally:
        fake.server.shutdown()
    assert (facts.image_ref, facts.image_ref_alt) == ("main", "alt")
    assert facts.disk_formats == ("qcow2", "raw", "ploop")
    assert facts.container_formats == ("bare", "ovf")
    assert facts.format_enforcement is refuse
    assert "DELETE /image/v2/images/probe" in fake.calls  # the probe image does not linger


def test_image_multistore_pass_runs_the_image_suite_on_a_two_store_unchecked_cloud() -> None:
    import tomllib

    from conformance_lib.cli import _parser, _pass_config, _spec

    config = tomllib.loads(_pass_config("image-multistore") or "")["image"]
    assert config["require_image_format_match"] is False
    assert len(config["extra_file_stores"].split(",")) == 1 and ":" in config["extra_file_stores"]
    spec = _spec(_parser().parse_args(["--service", "all"]), "image-multistore", ["identity", "image"])
    assert spec is not None and spec.services == ("image",) and spec.security is None
    assert re.search(spec.regex, IMAGE_TEST) and not re.search(spec.regex, ROLE_TEST)
    assert _spec(_parser().parse_args(["--service", "identity"]), "image-multistore", ["identity", "image"]) is None
    assert _spec(_parser().parse_args([]), "image-multistore", ["identity"]) is None
    sc = _spec(_parser().parse_args(["--service", "all"]), "security-compliance", ["identity", "image"])
    assert sc is not None and sc.services == ("identity",) and sc.security is not None
    # The normal pass runs two simulated compute hosts (migration tests need a second one).
    assert tomllib.loads(_pass_config("normal") or "")["compute"]["hosts"] == 2


def test_recorded_command_leaves_out_local_output_paths() -> None:
    from conformance_lib.cli import _public_args

    argv = ["--service", "all", "--summary-file", "/tmp/s.tsv", "--failures-file=/tmp/f.txt"]
    assert _public_args(argv) == ["--service", "all"]


NETWORK_FACTS = tempest_conf.NetworkFacts(
    extensions=("external-net", "network", "port-security", "router"), public_network_id="pub-1",
    public_network_name="public", fixed_network_name="private", project_network_cidr="10.101.0.0/16")


def test_network_in_catalog_configures_neutron_from_the_cloud(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "compute", "network"}, network=NETWORK_FACTS)))
    assert conf["service_available"]["neutron"] == "True"
    net, features = conf["network"], conf["network-feature-enabled"]
    assert net["public_network_id"] == "pub-1"
    assert net["floating_network_name"] == "public"
    assert net["project_network_cidr"] == "10.101.0.0/16"
    assert net["project_networks_reachable"] == "False"
    assert int(net["build_timeout"]) <= 60  # a port that never goes ACTIVE must not eat CI's budget
    assert features["api_extensions"] == "external-net,network,port-security,router"
    assert (features["port_security"], features["floating_ips"]) == ("True", "True")
    # DevStack's compute settings once Neutron is there: isolated networks, the private network.
    assert conf["auth"]["create_isolated_networks"] == "True"
    assert conf["compute"]["fixed_network_name"] == "private"
    assert conf["compute-feature-enabled"]["interface_attach"] == "True"
    assert conf["validation"]["run_validation"] == "False"


def test_network_features_follow_the_advertised_extensions(tmp_path: Path) -> None:
    bare = tempest_conf.NetworkFacts(extensions=("network",))
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "network"}, network=bare)))
    features = conf["network-feature-enabled"]
    assert features["api_extensions"] == "network"  # never "all"
    assert (features["port_security"], features["floating_ips"]) == ("False", "False")
    assert "public_network_id" not in conf["network"] and "floating_network_name" not in conf["network"]
    assert "compute" not in conf
    empty = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"network"}, network=tempest_conf.NetworkFacts())))
    assert empty["network-feature-enabled"]["api_extensions"] == ""  # Tempest: no extension at all


@pytest.mark.parametrize(("taken", "expected"), [
    ([], "10.100.0.0/16"),
    (["172.24.4.0/24", "10.0.0.0/26", "192.168.233.0/24", "fd00::/64"], "10.100.0.0/16"),
    (["10.100.5.0/24", "10.0.0.0/16"], "10.1.0.0/16"),
    (["10.0.0.0/9"], "10.128.0.0/16"),
])
def test_project_cidr_avoids_the_clouds_subnets(taken: list[str], expected: str) -> None:
    assert tempest_conf.clear_cidr(taken) == expected


class _FakeNeutron:
    """Just enough of a network API for ``cloud.network_facts``: extensions, paged networks, subnets."""

    def __init__(self, subnets_status: int = 200) -> None:
        import http.server
        import json
        import threading
        from urllib.parse import parse_qs, urlsplit

        networks = [
            {"id": "ext-2", "name": "other-ext", "router:external": True, "is_default": False},
            {"id": "priv", "name": "private", "router:external": False},
            {"id": "ext-1", "name": "public", "router:external": True, "is_default": True},
            {"id": "sh", "name": "shared", "router:external": False, "shared": True},
        ]
        extensions = [{"alias": "router"}, {"alias": "external-net"}, {"alias": "port-security"}]
        subnets = [{"cidr": "10.100.0.0/24"}, {"cidr": "2001:db8::/64"}]

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                query = parse_qs(parts.query)
                code = 200
                body: dict[str, object] = {}
                if parts.path.endswith("/extensions"):
                    body = {"extensions": extensions}
                elif parts.path.endswith("/networks"):  # two per page, as a small limit would give
                    start = int(query.get("marker", ["0"])[0])
                    page = networks[start:start + 2]
                    links = [{"rel": "next", "href": f"{base}/v2.0/networks?marker={start + 2}"}] if page else []
                    body = {"networks": page, "networks_links": links}
                elif parts.path.endswith("/subnets"):
                    code, body = subnets_status, {"subnets": subnets}
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        base = self.url = f"http://127.0.0.1:{self.server.server_address[1]}/networking"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("subnets_status", [200, 404])
def test_network_facts_come_from_the_running_network_service(subnets_status: int) -> None:
    from conformance_lib import cloud

    fake = _FakeNeutron(subnets_status)
    try:
        facts = cloud.network_facts(cloud.Admin("tok", {"identity": "http://x", "network": fake.url}))
    finally:
        fake.server.shutdown()
    assert facts.extensions == ("external-net", "port-security", "router")
    assert (facts.public_network_id, facts.public_network_name) == ("ext-1", "public")  # the default one
    assert facts.fixed_network_name == "private"
    # The cloud's 10.100.0.0/24 (only when the subnets API answers) pushes Tempest's projects elsewhere.
    assert facts.project_network_cidr == ("10.0.0.0/16" if subnets_status == 200 else "10.100.0.0/16")


def test_network_facts_without_a_network_service_are_empty() -> None:
    from conformance_lib import cloud

    assert cloud.network_facts(cloud.Admin("tok", {"identity": "http://x"})) == tempest_conf.NetworkFacts()


VOLUME_FACTS = tempest_conf.VolumeFacts(
    min_microversion="3.0", max_microversion="3.71", backend_names=("file",), storage_protocol="file",
    vendor_name="onestack", extensions=("os-extended-snapshot-attributes", "os-vol-host-attr"),
    binaries=("cinder-scheduler", "cinder-volume"), volumes=True, snapshots=True, backups=False,
    manage_volume=True, manage_snapshot=False)


def test_volume_in_catalog_configures_cinder_from_the_cloud(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="pw", workspace=tmp_path,
        available_services={"volumev3", "block-storage", "compute"}, volume=VOLUME_FACTS,
        compute=tempest_conf.ComputeFacts(max_microversion="2.96"))))
    assert conf["service_available"]["cinder"] == "True"
    volume, features = conf["volume"], conf["volume-feature-enabled"]
    assert volume["catalog_type"] == "volumev3"
    assert (volume["min_microversion"], volume["max_microversion"]) == ("3.0", "3.71")
    assert (volume["backend_names"], volume["storage_protocol"], volume["vendor_name"]) == (
        "file", "file", "onestack")
    assert volume["volume_size"] == "1"
    assert volume["manage_snapshot_ref"] == "source-name,snapshot-%s"  # the file driver's names
    assert features["api_extensions"] == "os-extended-snapshot-attributes,os-vol-host-attr"
    # Only what answers: no cinder-backup row and no backups API → no backup tests.
    assert (features["backup"], features["snapshot"], features["clone"]) == ("False", "True", "True")
    assert (features["manage_volume"], features["manage_snapshot"]) == ("True", "False")
    assert features["multi_backend"] == "False"
    assert features["extend_attached_volume"] == "True"  # 3.71 ≥ 3.42 and 2.96 ≥ 2.51
    assert conf["compute"]["volume_device_name"] == "vdb"


def test_volume_flags_need_the_compute_side_and_two_backends(tmp_path: Path) -> None:
    facts = tempest_conf.VolumeFacts(min_microversion="3.0", max_microversion="3.40",
                                     backend_names=("a", "b"), volumes=True)
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="pw", workspace=tmp_path,
        available_services={"volumev3"}, volume=facts)))
    features = conf["volume-feature-enabled"]
    assert features["multi_backend"] == "True"
    assert features["extend_attached_volume"] == "False"  # no compute, and 3.40 < 3.42
    assert features["api_extensions"] == ""  # none listed: never "all"
    assert not conf.has_section("compute") or "volume_device_name" not in conf["compute"]


def test_without_volume_service_cinder_is_off(tmp_path: Path) -> None:
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="pw", workspace=tmp_path,
        available_services={"identity"})))
    assert conf["service_available"]["cinder"] == "False"
    assert not conf.has_section("volume")


class _FakeCinder:
    """Just enough of Cinder for ``cloud.volume_facts``: versions, pools, extensions, services, probes."""

    def __init__(self, backups_status: int) -> None:
        import http.server
        import json
        import threading
        from urllib.parse import urlsplit

        pools = [
            {"name": "h@lvm#lvm", "capabilities": {"volume_backend_name": "lvm", "storage_protocol": "iSCSI",
                                                    "vendor_name": "Open Source"}},
            {"name": "h@file#file", "capabilities": {"volume_backend_name": "file", "storage_protocol": "file",
                                                      "vendor_name": "onestack", "multiattach": True}},
        ]
        multi = {"multiattach": "<is> True"}
        types = [{"name": "__DEFAULT__", "is_public": True, "extra_specs": {}},
                 {"name": "a-shared", "is_public": True, "extra_specs": multi},
                 {"name": "multiattach", "is_public": True, "extra_specs": multi},
                 {"name": "0-private", "is_public": False, "extra_specs": multi}]
        self.posts: list[str] = []
        posts = self.posts

        class Handler(http.server.BaseHTTPRequestHandler):
            def _send(self, code: int, body: object) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                path = urlsplit(self.path).path
                if path == "/volume/v3/":
                    self._send(200, {"versions": [{"id": "v3.0", "min_version": "3.0", "version": "3.71"}]})
                elif path.endswith("/scheduler-stats/get_pools"):
                    self._send(200, {"pools": pools})
                elif path.endswith("/extensions"):
                    self._send(200, {"extensions": [{"alias": "os-vol-host-attr"}, {"alias": "OS-SCH-HNT"}]})
                elif path.endswith("/os-services"):
                    self._send(200, {"services": [{"binary": "cinder-volume"}, {"binary": "cinder-scheduler"},
                                                  {"binary": "cinder-volume"}]})
                elif path.endswith(("/volumes", "/snapshots")):
                    self._send(200, {path.rsplit("/", 1)[1]: []})
                elif path.endswith("/types"):
                    self._send(200, {"volume_types": types})
                elif path.endswith("/backups"):
                    self._send(backups_status, {"backups": []})
                else:
                    self._send(404, {"itemNotFound": {"code": 404, "message": "no"}})

            def do_POST(self) -> None:
                posts.append(self.path)
                if self.path.endswith("/os-volume-manage"):
                    self._send(400, {"badRequest": {"code": 400, "message": "Missing 'volume'"}})
                else:
                    self._send(404, {"itemNotFound": {"code": 404, "message": "no"}})

            def log_message(self, *args: object) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/volume/v3/proj-1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.mark.parametrize("backups_status", [200, 404])
def test_volume_facts_come_from_the_running_volume_service(backups_status: int) -> None:
    from conformance_lib import cloud

    fake = _FakeCinder(backups_status)
    try:
        facts = cloud.volume_facts(cloud.Admin("tok", {"identity": "http://x", "volumev3": fake.url}))
    finally:
        fake.server.shutdown()
    assert (facts.min_microversion, facts.max_microversion) == ("3.0", "3.71")
    assert facts.backend_names == ("file", "lvm")
    # The first pool by name: h@file#file.
    assert (facts.storage_protocol, facts.vendor_name) == ("file", "onestack")
    assert facts.extensions == ("OS-SCH-HNT", "os-vol-host-attr")
    assert facts.binaries == ("cinder-scheduler", "cinder-volume")
    assert (facts.volumes, facts.snapshots) == (True, True)
    assert facts.backups is (backups_status == 200)  # no cinder-backup row: only the API decides
    assert (facts.manage_volume, facts.manage_snapshot) == (True, False)
    assert facts.multiattach_type == "multiattach"  # DevStack's name before the others; never a private one


def test_volume_root_strips_the_version_and_project() -> None:
    from conformance_lib import cloud

    assert cloud.volume_root("http://h:1/volume/v3/abc") == "http://h:1/volume"
    assert cloud.volume_root("http://h:1/volume/v3") == "http://h:1/volume"
    assert cloud.volume_facts(cloud.Admin("tok", {"identity": "http://x"})) == tempest_conf.VolumeFacts()


def test_object_store_in_catalog_configures_swift_from_info(tmp_path: Path) -> None:
    facts = tempest_conf.ObjectStoreFacts(discoverable=True, sections=("slo", "swift", "tempurl"),
                                          tempurl_digests=("sha1", "sha256", "sha512"))
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "object-store"}, object_store=facts)))
    assert conf["service_available"]["swift"] == "True"
    assert conf["object-storage"]["catalog_type"] == "object-store"
    assert conf["object-storage"]["reseller_admin_role"] == "ResellerAdmin"
    assert conf["object-storage"]["operator_role"] == "member"
    features = conf["object-storage-feature-enabled"]
    assert features["discoverable_apis"] == "slo,swift,tempurl"
    assert features["discoverability"] == "True"
    assert (features["container_sync"], features["object_versioning"]) == ("False", "False")
    assert features["tempurl_digest_hashlib"] == "sha256"


def test_object_store_flags_follow_info_sections(tmp_path: Path) -> None:
    facts = tempest_conf.ObjectStoreFacts(discoverable=True, sections=("container_sync", "versioned_writes"),
                                          tempurl_digests=("sha1",))
    assert (facts.container_sync, facts.object_versioning, facts.tempurl_digest) == (True, True, "sha1")
    # No /info: nothing optional is claimed (never Tempest's default "all").
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path,
        available_services={"identity", "object-store"})))
    assert conf["object-storage-feature-enabled"]["discoverable_apis"] == ""
    assert conf["object-storage-feature-enabled"]["discoverability"] == "False"
    without = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="x", workspace=tmp_path, available_services={"identity"})))
    assert without["service_available"]["swift"] == "False" and "object-storage" not in without


def test_object_store_facts_come_from_info() -> None:
    import http.server
    import json
    import threading

    from conformance_lib import cloud

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/object-store/info"
            data = json.dumps({"swift": {"version": "2"}, "tempurl": {"allowed_digests": ["sha1", "sha512"]},
                               "bulk_delete": {}} if found else {}).encode()
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/object-store/v1/AUTH_p1"
    try:
        facts = cloud.object_store_facts(cloud.Admin("tok", {"identity": "http://x", "object-store": url}))
    finally:
        server.shutdown()
    assert facts == tempest_conf.ObjectStoreFacts(True, ("bulk_delete", "swift", "tempurl"), ("sha1", "sha512"))
    assert facts.tempurl_digest == "sha512"
    assert cloud.object_store_root("http://h/object-store/v1/AUTH_x") == "http://h/object-store"
    assert cloud.object_store_facts(cloud.Admin("tok", {"identity": "http://x"})) == tempest_conf.ObjectStoreFacts()


@pytest.mark.parametrize(("mtype", "hosts", "compute_max", "on"), [
    ("multiattach", True, "2.96", True),
    (None, True, "2.96", False),  # no public multiattach type
    ("multiattach", False, "2.96", False),  # a host without COMPUTE_VOLUME_MULTI_ATTACH
    ("multiattach", True, "2.59", False),  # Nova attaches multiattach volumes from 2.60
])
def test_multiattach_flags_follow_the_type_and_the_host_trait(tmp_path: Path, mtype: str | None, hosts: bool,
                                                             compute_max: str, on: bool) -> None:
    volume = dataclasses.replace(VOLUME_FACTS, multiattach_type=mtype)
    conf = _parse(tempest_conf.render(tempest_conf.ConfInputs(
        identity_url="http://h/identity", admin_password="pw", workspace=tmp_path,
        available_services={"volumev3", "compute"}, volume=volume,
        compute=tempest_conf.ComputeFacts(max_microversion=compute_max, multiattach_hosts=hosts))))
    assert conf["compute-feature-enabled"]["volume_multiattach"] == str(on)
    assert conf["volume"].get("volume_type_multiattach") == mtype


def test_failures_print_their_traceback_and_the_clouds_errors(tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    from conformance_lib.cli import _print_failures
    from conformance_lib.results import TestResult

    log = tmp_path / "onestack.log"
    log.write_text("2026-12-07 10:00:00 INFO onestack: fine\n"
                   "2026-12-07 10:00:01 ERROR onestack.compute.agent: freeing the ports of x failed\n")
    result = PassResult(name="normal", regex="", workspace=str(tmp_path))
    result.tests = [TestResult(id=ROLE_TEST, status="fail", traceback=TRACEBACK),
                    TestResult(id="tempest.api.x.Y.test_ok", status="pass")]
    _print_failures(result, log)
    out = capsys.readouterr().out
    assert f"FAILED {ROLE_TEST}" in out
    assert "Could not find role" in out
    assert "freeing the ports of x failed" in out and "fine" not in out
    assert "test_ok" not in out


def test_error_records_keep_the_first_line_and_the_exceptions_of_each_traceback() -> None:
    log = """2026-12-07 22:17:25,376 ERROR onestack.network.agent: compute-1: reconcile pass failed
Traceback (most recent call last):
  File "/x/onestack/network/server_rpc.py", line 204, in dhcp_ports
    return await self.db.write(dhcp_ports.sync_host, host, stale, net)
onestack.network.errors.SubnetNotFound: Subnet s1 could not be found.

The above exception was the direct cause of the following exception:

Traceback (most recent call last):
  File "/x/onestack/core/bus.py", line 132, in dispatch_here
onestack.core.bus.RemoteError: SubnetNotFound: Subnet s1 could not be found.
2026-12-07 22:17:25,400 INFO onestack.api: GET /networking/v2.0/ports status=200
2026-12-07 22:17:26,000 WARNING onestack.volume.agent: h1: volume reconcile pass failed
ValueError: not an error record
2026-12-07 22:17:27,000 ERROR asyncio: Future exception was never retrieved
future: <Future finished exception=RemoteError('x')>
""".splitlines(keepends=True)
    assert error_records(log) == [
        ["2026-12-07 22:17:25,376 ERROR onestack.network.agent: compute-1: reconcile pass failed",
         "  onestack.network.errors.SubnetNotFound: Subnet s1 could not be found.",
         "  onestack.core.bus.RemoteError: SubnetNotFound: Subnet s1 could not be found."],
        ["2026-12-07 22:17:27,000 ERROR asyncio: Future exception was never retrieved"],
    ]
