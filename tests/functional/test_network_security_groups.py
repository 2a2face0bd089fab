"""Security groups and rules through openstacksdk, the openstack CLI and raw HTTP: the per-project
default group and its rules, Neutron's checks of rules, duplicates, isolation and sharing, quotas."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from openstack import exceptions as sdk_exc

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import module_cloud
from tests.functional.network_support import error_of, neutron


@pytest.fixture
def project(admin: Any) -> Iterator[str]:
    """A project of the test's own (nothing made in it yet: no default group)."""
    made = admin.identity.create_project(name=f"sg-{uuid.uuid4().hex[:8]}", domain_id="default")
    yield made.id
    admin.identity.delete_project(made.id)


@pytest.fixture
def group(demo: Any) -> Iterator[Any]:
    made = demo.network.create_security_group(name=f"sg-{uuid.uuid4().hex[:6]}", description="test group")
    yield made
    demo.network.delete_security_group(made.id, ignore_missing=True)


def _rule(http: Any, group_id: str, **attrs: Any) -> Any:
    return http.post("/v2.0/security-group-rules",
                     json={"security_group_rule": {"security_group_id": group_id, "direction": "ingress", **attrs}})


def test_default_group_made_on_first_listing_with_neutrons_rules(cloud: RunningCloud, project: str) -> None:
    http = neutron(cloud, "devstack-admin")
    groups = http.get(f"/v2.0/security-groups?project_id={project}").json()["security_groups"]
    assert [(g["name"], g["description"]) for g in groups] == [("default", "Default security group")]
    sg = groups[0]
    assert sg["stateful"] is True and sg["shared"] is False and sg["project_id"] == project
    rules = {(r["direction"], r["ethertype"], r["remote_group_id"], r["protocol"], r["remote_ip_prefix"])
             for r in sg["security_group_rules"]}
    assert rules == {("egress", "IPv4", None, None, None), ("egress", "IPv6", None, None, None),
                     ("ingress", "IPv4", sg["id"], None, None), ("ingress", "IPv6", sg["id"], None, None)}
    assert all(r["belongs_to_default_sg"] is True for r in sg["security_group_rules"])
    # Listing again makes no second one.
    again = http.get(f"/v2.0/security-groups?project_id={project}").json()["security_groups"]
    assert [g["id"] for g in again] == [sg["id"]]


def test_racing_first_listings_make_one_default_group(cloud: RunningCloud, project: str) -> None:
    def first_listing(_: int) -> list[str]:
        with neutron(cloud, "devstack-admin") as http:
            r = http.get(f"/v2.0/security-groups?project_id={project}&name=default")
            assert r.status_code == 200, r.text
            return [g["id"] for g in r.json()["security_groups"]]

    with ThreadPoolExecutor(6) as pool:
        seen = list(pool.map(first_listing, range(6)))
    assert all(len(ids) == 1 for ids in seen) and len({ids[0] for ids in seen}) == 1
    rules = neutron(cloud, "devstack-admin").get(f"/v2.0/security-group-rules?security_group_id={seen[0][0]}")
    assert len(rules.json()["security_group_rules"]) == 4


# Four writer threads: first uses race inside one process too, as several processes' would (on
# PostgreSQL and MariaDB; SQLite keeps one writer). No DevStack networks: nothing has used the
# default rules' template when the test starts.
racecloud = module_cloud("sg-race", {"ONESTACK_DATABASE__WRITE_THREADS": "4"})


def test_first_uses_racing_on_several_writers_each_make_one_default_group(racecloud: RunningCloud) -> None:
    """Listings of fresh projects at once: the first uses of the default rules' template race, then
    each project's default group's. The losers find the winners' rows — on MariaDB in a new
    transaction, as their own (REPEATABLE READ) cannot see them: never a 500, one group a project."""
    def first_listing(project: str) -> tuple[str, int, list[str]]:
        with neutron(racecloud, "devstack-admin") as http:
            r = http.get(f"/v2.0/security-groups?project_id={project}&name=default")
            return project, r.status_code, [g["id"] for g in r.json().get("security_groups", [])] or [r.text]

    rounds = [[uuid.uuid4().hex for _ in range(4)]] + [[uuid.uuid4().hex] for _ in range(4)]
    with ThreadPoolExecutor(8) as pool:
        for projects in rounds:
            seen = list(pool.map(first_listing, [projects[i % len(projects)] for i in range(8)]))
            assert all(code == 200 for _, code, _ in seen), [(code, ids) for _, code, ids in seen if code != 200]
            for project in projects:
                ids = {tuple(found) for p, _, found in seen if p == project}
                assert len(ids) == 1 and len(next(iter(ids))) == 1, (project, ids)
    with neutron(racecloud, "devstack-admin") as http:
        for projects in rounds:
            for project in projects:
                groups = http.get("/v2.0/security-groups", params={"project_id": project}).json()["security_groups"]
                assert [len(g["security_group_rules"]) for g in groups] == [4], (project, groups)


def test_create_update_delete_group(cloud: RunningCloud, demo: Any) -> None:
    sg = demo.network.create_security_group(name="sg-crud", description="d")
    try:
        assert sg.stateful is True and sg.is_shared is False and sg.revision_number == 0
        assert sorted((r["direction"], r["ethertype"]) for r in sg.security_group_rules) == \
            [("egress", "IPv4"), ("egress", "IPv6")]
        assert all(r["belongs_to_default_sg"] is False for r in sg.security_group_rules)
        updated = demo.network.update_security_group(sg, name="sg-crud2", description="e", stateful=False)
        assert (updated.name, updated.description, updated.stateful) == ("sg-crud2", "e", False)
        assert updated.revision_number == 1
        assert sg.id in [g.id for g in demo.network.security_groups(name="sg-crud2", stateful=False)]
        assert sg.id not in [g.id for g in demo.network.security_groups(stateful=True)]
    finally:
        demo.network.delete_security_group(sg.id)
    with pytest.raises(sdk_exc.NotFoundException):
        demo.network.get_security_group(sg.id)
    r = neutron(cloud).delete(f"/v2.0/security-groups/{sg.id}")
    assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupNotFound"


def test_default_group_rules_of_renaming_and_deleting(cloud: RunningCloud, demo: Any, group: Any) -> None:
    http = neutron(cloud)
    default = http.get("/v2.0/security-groups?name=default").json()["security_groups"][0]
    r = http.put(f"/v2.0/security-groups/{default['id']}", json={"security_group": {"name": "other"}})
    assert r.status_code == 409 and error_of(r)["type"] == "SecurityGroupCannotUpdateDefault"
    r = http.delete(f"/v2.0/security-groups/{default['id']}")
    assert r.status_code == 409 and error_of(r)["type"] == "SecurityGroupCannotRemoveDefault"
    for method, url in (("POST", "/v2.0/security-groups"), ("PUT", f"/v2.0/security-groups/{group.id}")):
        r = http.request(method, url, json={"security_group": {"name": "Default"}})
        assert r.status_code == 409 and error_of(r)["type"] == "SecurityGroupDefaultAlreadyExists"
    # The description of the default group may change.
    r = http.put(f"/v2.0/security-groups/{default['id']}", json={"security_group": {"description": "mine"}})
    assert r.status_code == 200 and r.json()["security_group"]["name"] == "default"
    http.put(f"/v2.0/security-groups/{default['id']}",
             json={"security_group": {"description": "Default security group"}})
    assert demo.network.get_security_group(group.id).name == group.name


def test_admin_deletes_a_default_group_and_the_next_listing_makes_another(cloud: RunningCloud,
                                                                            project: str) -> None:
    http = neutron(cloud, "devstack-admin")
    first = http.get(f"/v2.0/security-groups?project_id={project}").json()["security_groups"][0]
    assert http.delete(f"/v2.0/security-groups/{first['id']}").status_code == 204
    second = http.get(f"/v2.0/security-groups?project_id={project}").json()["security_groups"]
    assert len(second) == 1 and second[0]["id"] != first["id"] and second[0]["name"] == "default"


def test_rule_through_the_cli_and_duplicates(cloud: RunningCloud, group: Any) -> None:
    rule = cloud.cli("security group rule create", "--protocol", "tcp", "--dst-port", "22", group.id,
                     cloud="devstack")
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"]) == ("tcp", 22, 22)
    assert rule["direction"] == "ingress" and rule["security_group_id"] == group.id
    assert rule["belongs_to_default_sg"] is False
    proc = cloud.cli("security group rule create", "--protocol", "tcp", "--dst-port", "22", group.id,
                     cloud="devstack", check=False)
    assert proc.returncode != 0 and rule["id"] in proc.stderr
    # The same rule by protocol number, and with the any-address prefix spelled out, is a duplicate too.
    http = neutron(cloud)
    r = _rule(http, group.id, protocol="6", port_range_min=22, port_range_max=22)
    assert r.status_code == 409 and error_of(r)["type"] == "SecurityGroupRuleExists"
    assert rule["id"] in error_of(r)["message"]
    listed = cloud.cli("security group rule list", group.id, cloud="devstack")
    assert rule["id"] in [x["ID"] for x in listed]
    shown = http.get(f"/v2.0/security-groups/{group.id}").json()["security_group"]
    assert rule["id"] in [x["id"] for x in shown["security_group_rules"]]
    assert shown["revision_number"] >= 1  # a rule added is a change to its group


def test_rule_fields_and_normalisation(cloud: RunningCloud, group: Any) -> None:
    http = neutron(cloud)
    r = _rule(http, group.id, protocol="TCP", port_range_min=80, port_range_max=90,
              remote_ip_prefix="10.0.0.5/24", description="web")
    assert r.status_code == 201, r.text
    made = r.json()["security_group_rule"]
    assert made["protocol"] == "tcp" and made["ethertype"] == "IPv4" and made["description"] == "web"
    assert made["remote_ip_prefix"] == "10.0.0.5/24" and made["normalized_cidr"] == "10.0.0.0/24"
    assert made["project_id"] == made["tenant_id"] and made["revision_number"] == 0
    assert {"created_at", "updated_at", "remote_group_id", "belongs_to_default_sg"} <= set(made)
    r = _rule(http, group.id, ethertype="IPv6", protocol="icmp", remote_ip_prefix="2001:db8::1")
    assert r.status_code == 201, r.text
    v6 = r.json()["security_group_rule"]
    assert v6["protocol"] == "ipv6-icmp" and v6["remote_ip_prefix"] == "2001:db8::1/128"
    r = _rule(http, group.id, protocol="icmp", port_range_min=8, port_range_max=0)
    assert r.status_code == 201 and r.json()["security_group_rule"]["port_range_min"] == 8
    r = _rule(http, group.id, protocol="112", remote_group_id=group.id)
    assert r.status_code == 201 and r.json()["security_group_rule"]["protocol"] == "112"
    got = http.get(f"/v2.0/security-group-rules/{made['id']}").json()["security_group_rule"]
    assert got == made
    ids = {x["id"] for x in http.get(f"/v2.0/security-group-rules?security_group_id={group.id}&protocol=tcp")
           .json()["security_group_rules"]}
    assert ids == {made["id"]}
    defaults = http.get(f"/v2.0/security-group-rules?security_group_id={group.id}&belongs_to_default_sg=true")
    assert defaults.json()["security_group_rules"] == []
    assert http.put(f"/v2.0/security-group-rules/{made['id']}",
                    json={"security_group_rule": {"description": "x"}}).status_code in (404, 405)
    assert http.delete(f"/v2.0/security-group-rules/{made['id']}").status_code == 204
    r = http.get(f"/v2.0/security-group-rules/{made['id']}")
    assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupRuleNotFound"


@pytest.mark.parametrize(("attrs", "kind"), [
    ({"protocol": "bogus"}, "SecurityGroupRuleInvalidProtocol"),
    ({"protocol": 256}, "SecurityGroupRuleInvalidProtocol"),
    ({"port_range_min": 22, "port_range_max": 22}, "SecurityGroupProtocolRequiredWithPorts"),
    ({"protocol": "tcp", "port_range_min": 90, "port_range_max": 80}, "SecurityGroupInvalidPortRange"),
    ({"protocol": "tcp", "port_range_min": 0, "port_range_max": 80}, "SecurityGroupInvalidPortValue"),
    ({"protocol": "tcp", "port_range_min": 1, "port_range_max": 70000}, "SecurityGroupInvalidPortValue"),
    ({"protocol": "udp", "port_range_min": 5}, "SecurityGroupInvalidPortRange"),
    ({"protocol": "icmp", "port_range_min": 256}, "SecurityGroupInvalidIcmpValue"),
    ({"protocol": "icmp", "port_range_max": 3}, "SecurityGroupMissingIcmpType"),
    ({"protocol": "gre", "port_range_min": 1, "port_range_max": 2}, "SecurityGroupInvalidProtocolForPortRange"),
    ({"ethertype": "IPv4", "protocol": "ipv6-icmp"}, "SecurityGroupEthertypeConflictWithProtocol"),
    ({"ethertype": "IPv6", "remote_ip_prefix": "10.0.0.0/8"}, "SecurityGroupRuleParameterConflict"),
    ({"remote_ip_prefix": "10.0.0.0/33"}, "InvalidCIDR"),
    ({"remote_ip_prefix": "10.0.0.0/8", "remote_group_id": "REMOTE"}, "SecurityGroupRemoteGroupAndRemoteIpPrefix"),
    ({"direction": "sideways"}, "HTTPBadRequest"),
    ({"ethertype": "IPv5"}, "HTTPBadRequest"),
    ({"normalized_cidr": "10.0.0.0/8"}, "HTTPBadRequest"),
    ({"bogus": 1}, "HTTPBadRequest"),
])
def test_bad_rules_are_refused_and_change_nothing(cloud: RunningCloud, group: Any, attrs: dict[str, Any],
                                                  kind: str) -> None:
    http = neutron(cloud)
    attrs = {k: (group.id if v == "REMOTE" else v) for k, v in attrs.items()}
    before = http.get(f"/v2.0/security-groups/{group.id}").json()["security_group"]
    r = _rule(http, group.id, **attrs)
    assert r.status_code == 400, r.text
    assert error_of(r)["type"] == kind, r.text
    assert http.get(f"/v2.0/security-groups/{group.id}").json()["security_group"] == before


def test_missing_groups(cloud: RunningCloud, group: Any) -> None:
    http = neutron(cloud)
    ghost = str(uuid.uuid4())
    r = _rule(http, ghost)
    assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupNotFound"
    r = _rule(http, group.id, remote_group_id=ghost)
    assert r.status_code == 404 and ghost in error_of(r)["message"]
    for not_an_id in ("bad_group_id", "x" * 40):
        r = _rule(http, group.id, remote_group_id=not_an_id)
        assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupNotFound"
    assert _rule(http, "bad_group_id").status_code == 404
    r = http.post("/v2.0/security-group-rules", json={"security_group_rule": {"security_group_id": group.id}})
    assert r.status_code == 400 and "direction" in error_of(r)["message"]


def test_other_projects_groups_are_invisible(cloud: RunningCloud, group: Any, alt: Any) -> None:
    http = neutron(cloud, "devstack-alt")
    rule = _rule(neutron(cloud), group.id, protocol="udp", port_range_min=53, port_range_max=53).json()
    rule_id = rule["security_group_rule"]["id"]
    for method, url in (("GET", f"/v2.0/security-groups/{group.id}"), ("DELETE", f"/v2.0/security-groups/{group.id}"),
                        ("GET", f"/v2.0/security-group-rules/{rule_id}"),
                        ("DELETE", f"/v2.0/security-group-rules/{rule_id}")):
        r = http.request(method, url)
        assert r.status_code == 404, (method, url, r.text)
    r = http.put(f"/v2.0/security-groups/{group.id}", json={"security_group": {"name": "mine"}})
    assert r.status_code == 404
    r = _rule(http, group.id)
    assert r.status_code == 404 and error_of(r)["type"] == "SecurityGroupNotFound"
    assert group.id not in [g.id for g in alt.network.security_groups()]
    assert rule_id not in [x.id for x in alt.network.security_group_rules()]
    # An admin sees every project's groups.
    assert neutron(cloud, "devstack-admin").get(f"/v2.0/security-groups/{group.id}").status_code == 200


def test_group_shared_by_rbac(cloud: RunningCloud, demo: Any, alt: Any, group: Any) -> None:
    policy = demo.network.create_rbac_policy(object_type="security_group", object_id=group.id,
                                             action="access_as_shared", target_project_id=alt.current_project_id)
    try:
        seen = alt.network.get_security_group(group.id)
        assert seen.is_shared is True and len(seen.security_group_rules) == 2
        assert group.id in [g.id for g in alt.network.security_groups(shared=True)]
        assert demo.network.get_security_group(group.id).is_shared is False  # not shared with its owner
        http = neutron(cloud, "devstack-alt")
        r = http.put(f"/v2.0/security-groups/{group.id}", json={"security_group": {"name": "mine"}})
        assert r.status_code == 403
        r = _rule(http, group.id, protocol="tcp", port_range_min=1, port_range_max=2)
        assert r.status_code == 403 and error_of(r)["type"] == "PolicyNotAuthorized"
        assert http.delete(f"/v2.0/security-groups/{group.id}").status_code == 403
        rule_id = seen.security_group_rules[0]["id"]
        assert http.get(f"/v2.0/security-group-rules/{rule_id}").status_code == 200
        assert http.delete(f"/v2.0/security-group-rules/{rule_id}").status_code == 403
    finally:
        demo.network.delete_rbac_policy(policy.id)
    with pytest.raises(sdk_exc.NotFoundException):
        alt.network.get_security_group(group.id)


def test_admin_adds_a_rule_to_a_projects_group(cloud: RunningCloud, group: Any) -> None:
    r = _rule(neutron(cloud, "devstack-admin"), group.id, protocol="tcp", port_range_min=443, port_range_max=443)
    assert r.status_code == 201, r.text
    rule = r.json()["security_group_rule"]
    # The group's owner sees and may delete it.
    http = neutron(cloud)
    assert http.get(f"/v2.0/security-group-rules/{rule['id']}").status_code == 200
    assert http.delete(f"/v2.0/security-group-rules/{rule['id']}").status_code == 204


def test_quotas_count_the_default_group_and_rules(cloud: RunningCloud, project: str) -> None:
    http = neutron(cloud, "devstack-admin")
    assert http.put(f"/v2.0/quotas/{project}",
                    json={"quota": {"security_group": 1, "security_group_rule": 5}}).status_code == 200
    r = http.post("/v2.0/security-groups", json={"security_group": {"name": "one", "project_id": project}})
    assert r.status_code == 409 and error_of(r)["type"] == "OverQuota"
    assert "security_group" in error_of(r)["message"]
    groups = http.get(f"/v2.0/security-groups?project_id={project}").json()["security_groups"]
    assert [g["name"] for g in groups] == ["default"]  # made first; the new one refused
    default_id = groups[0]["id"]
    r = _rule(http, default_id, project_id=project, protocol="tcp", port_range_min=22, port_range_max=22)
    assert r.status_code == 201, r.text
    r = _rule(http, default_id, project_id=project, protocol="tcp", port_range_min=23, port_range_max=23)
    assert r.status_code == 409 and "security_group_rule" in error_of(r)["message"]
    used = http.get(f"/v2.0/quotas/{project}/details").json()["quota"]
    assert used["security_group"] == {"limit": 1, "used": 1, "reserved": 0}
    assert used["security_group_rule"]["used"] == 5


def test_extensions_declared(demo: Any) -> None:
    aliases = {e.alias for e in demo.network.extensions()}
    assert {"security-group", "stateful-security-group", "rbac-security-groups", "security-groups-normalized-cidr",
            "security-groups-rules-belongs-to-default-sg", "security-groups-default-rules"} <= aliases


def test_groups_in_use_by_ports(cloud: RunningCloud, project: str) -> None:
    http = neutron(cloud, "devstack-admin")
    net = http.post("/v2.0/networks", json={"network": {"name": "sg-use", "project_id": project}}).json()["network"]
    try:
        # A project's first port makes its default group and uses it.
        port = http.post("/v2.0/ports", json={"port": {"network_id": net["id"], "project_id": project}})
        assert port.status_code == 201, port.text
        default = http.get(f"/v2.0/security-groups?project_id={project}&name=default").json()["security_groups"]
        assert port.json()["port"]["security_groups"] == [default[0]["id"]]
        sg = http.post("/v2.0/security-groups",
                       json={"security_group": {"name": "used", "project_id": project}}).json()["security_group"]
        r = http.put(f"/v2.0/ports/{port.json()['port']['id']}", json={"port": {"security_groups": [sg["id"]]}})
        assert r.status_code == 200, r.text
        r = http.delete(f"/v2.0/security-groups/{sg['id']}")
        assert r.status_code == 409 and error_of(r)["type"] == "SecurityGroupInUse"
        r = http.put(f"/v2.0/security-groups/{sg['id']}", json={"security_group": {"stateful": False}})
        assert r.status_code == 409 and error_of(r)["type"] == "SecurityGroupInUse"
        assert http.get(f"/v2.0/security-groups/{sg['id']}").json()["security_group"]["stateful"] is True
        # Other changes of a group in use are fine.
        r = http.put(f"/v2.0/security-groups/{sg['id']}", json={"security_group": {"description": "busy"}})
        assert r.status_code == 200
        assert http.delete(f"/v2.0/ports/{port.json()['port']['id']}").status_code == 204
        assert http.delete(f"/v2.0/security-groups/{sg['id']}").status_code == 204
    finally:
        http.delete(f"/v2.0/networks/{net['id']}")


def test_default_rule_template(cloud: RunningCloud, demo: Any, project: str) -> None:
    http, admin_http = neutron(cloud), neutron(cloud, "devstack-admin")
    initial = http.get("/v2.0/default-security-group-rules").json()["default_security_group_rules"]
    assert sorted((r["direction"], r["ethertype"], r["remote_group_id"], r["used_in_default_sg"],
                   r["used_in_non_default_sg"]) for r in initial) == [
        ("egress", "IPv4", None, True, True), ("egress", "IPv6", None, True, True),
        ("ingress", "IPv4", "PARENT", True, False), ("ingress", "IPv6", "PARENT", True, False)]
    r = http.post("/v2.0/default-security-group-rules",
                  json={"default_security_group_rule": {"direction": "ingress", "protocol": "tcp"}})
    assert r.status_code == 403
    ssh = admin_http.post("/v2.0/default-security-group-rules", json={"default_security_group_rule": {
        "direction": "ingress", "protocol": "tcp", "port_range_min": 22, "port_range_max": 22,
        "used_in_default_sg": False}})
    assert ssh.status_code == 201, ssh.text
    ping = admin_http.post("/v2.0/default-security-group-rules", json={"default_security_group_rule": {
        "direction": "ingress", "protocol": "icmp", "remote_group_id": "PARENT", "used_in_non_default_sg": False}})
    assert ping.status_code == 201, ping.text
    made: list[str] = []
    try:
        r = admin_http.post("/v2.0/default-security-group-rules", json={"default_security_group_rule": {
            "direction": "ingress", "protocol": "6", "port_range_min": 22, "port_range_max": 22}})
        assert r.status_code == 409 and ssh.json()["default_security_group_rule"]["id"] in error_of(r)["message"]
        r = admin_http.post("/v2.0/default-security-group-rules", json={"default_security_group_rule": {
            "direction": "ingress", "protocol": "tcp", "port_range_min": 30, "port_range_max": 20}})
        assert r.status_code == 400 and error_of(r)["type"] == "SecurityGroupInvalidPortRange"
        sg = demo.network.create_security_group(name="sg-template")
        made.append(sg.id)
        got = {(x["direction"], x["protocol"], x["port_range_min"]) for x in sg.security_group_rules}
        assert got == {("egress", None, None), ("ingress", "tcp", 22)}
        default = admin_http.get(f"/v2.0/security-groups?project_id={project}").json()["security_groups"][0]
        got = {(x["direction"], x["protocol"], x["remote_group_id"]) for x in default["security_group_rules"]}
        assert ("ingress", "icmp", default["id"]) in got and ("ingress", "tcp", None) not in got
        assert len(default["security_group_rules"]) == 5
    finally:
        for rule in (ssh, ping):
            rule_id = rule.json()["default_security_group_rule"]["id"]
            assert admin_http.delete(f"/v2.0/default-security-group-rules/{rule_id}").status_code == 204
        for gid in made:
            demo.network.delete_security_group(gid)
    r = http.get(f"/v2.0/default-security-group-rules/{ssh.json()['default_security_group_rule']['id']}")
    assert r.status_code == 404 and error_of(r)["type"] == "DefaultSecurityGroupRuleNotFound"
    after = http.get("/v2.0/default-security-group-rules").json()["default_security_group_rules"]
    assert sorted(r["id"] for r in after) == sorted(r["id"] for r in initial)


def test_bulk_rules_all_or_none(cloud: RunningCloud, group: Any, demo: Any) -> None:
    http = neutron(cloud)

    def bulk(*rules: dict[str, Any]) -> Any:
        return http.post("/v2.0/security-group-rules", json={"security_group_rules": [
            {"security_group_id": group.id, "direction": "ingress", **r} for r in rules]})

    before = http.get(f"/v2.0/security-groups/{group.id}").json()["security_group"]["security_group_rules"]
    r = bulk({"protocol": "tcp", "port_range_min": 80, "port_range_max": 80},
             {"protocol": "tcp", "port_range_min": 80, "port_range_max": 80})
    assert r.status_code == 409 and error_of(r)["type"] == "DuplicateSecurityGroupRuleInPost"
    r = bulk({"protocol": "tcp", "port_range_min": 80, "port_range_max": 80}, {"protocol": "nope"})
    assert r.status_code == 400
    other = demo.network.create_security_group(name="sg-bulk-other")
    try:
        r = http.post("/v2.0/security-group-rules", json={"security_group_rules": [
            {"security_group_id": group.id, "direction": "ingress"},
            {"security_group_id": other.id, "direction": "ingress"}]})
        assert r.status_code == 400 and error_of(r)["type"] == "SecurityGroupNotSingleGroupRules"
    finally:
        demo.network.delete_security_group(other.id)
    after = http.get(f"/v2.0/security-groups/{group.id}").json()["security_group"]["security_group_rules"]
    assert after == before
    r = bulk({"protocol": "tcp", "port_range_min": 80, "port_range_max": 80}, {"protocol": "udp"})
    assert r.status_code == 201, r.text
    made = r.json()["security_group_rules"]
    assert [m["protocol"] for m in made] == ["tcp", "udp"]
    assert len(http.get(f"/v2.0/security-groups/{group.id}").json()["security_group"]["security_group_rules"]) == 4
