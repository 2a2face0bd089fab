"""Compute quota sets, quota classes, absolute limits and availability zones."""

from __future__ import annotations

from typing import Any

from tests.functional.cloud import RunningCloud
from tests.functional.compute_support import call, module_cloud

ccloud = module_cloud("compute-quotas", {"ONESTACK_COMPUTE__ENABLED": "true"})


NOVA_DEFAULTS = {"instances": 10, "cores": 20, "ram": 51200, "key_pairs": 100, "server_groups": 10,
                 "server_group_members": 10, "metadata_items": 128}


def test_defaults_and_microversion_fields(cadmin: Any, cdemo: Any) -> None:
    project = cdemo.current_project_id
    old = call(cdemo, "GET", f"/os-quota-sets/{project}").json()["quota_set"]
    assert old["id"] == project and {k: old[k] for k in NOVA_DEFAULTS} == NOVA_DEFAULTS
    assert old["floating_ips"] == 10 and old["injected_files"] == 5
    mid = call(cdemo, "GET", f"/os-quota-sets/{project}", mv="2.36").json()["quota_set"]
    assert "floating_ips" not in mid and "security_groups" not in mid and "injected_files" in mid
    new = call(cdemo, "GET", f"/os-quota-sets/{project}", mv="2.57").json()["quota_set"]
    assert "injected_files" not in new and new["server_groups"] == 10
    defaults = call(cdemo, "GET", f"/os-quota-sets/{project}/defaults").json()["quota_set"]
    assert defaults["instances"] == 10


def test_cli_quota_set_show_and_delete(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    project = cdemo.current_project_id
    ccloud.cli("quota", "set", "--instances", "7", "--ram", "4096", "--key-pairs", "9", "demo",
               json_out=False)
    shown = {row["Resource"]: row["Limit"] for row in ccloud.cli("quota", "show", "--compute", "demo")}
    assert shown["instances"] == 7 and shown["ram"] == 4096 and shown["key-pairs"] == 9
    detail = call(cadmin, "GET", f"/os-quota-sets/{project}/detail").json()["quota_set"]
    assert detail["instances"] == {"limit": 7, "in_use": 0, "reserved": 0}
    assert call(cadmin, "DELETE", f"/os-quota-sets/{project}").status_code == 202
    assert call(cdemo, "GET", f"/os-quota-sets/{project}").json()["quota_set"]["instances"] == 10


def test_quota_negatives(cadmin: Any, cdemo: Any) -> None:
    project = cdemo.current_project_id
    before = call(cadmin, "GET", f"/os-quota-sets/{project}").json()
    denied = call(cdemo, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"ram": 1}})
    assert denied.status_code == 403 and "forbidden" in denied.json()
    assert call(cdemo, "DELETE", f"/os-quota-sets/{project}").status_code == 403
    other = cadmin.current_project_id
    assert call(cdemo, "GET", f"/os-quota-sets/{other}").status_code == 403
    for bad in ({"ram": -2}, {"ram": "lots"}, {"bogus": 1}, {"ram": True}):
        resp = call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": bad})
        assert resp.status_code == 400, (bad, resp.text)
    gone = call(cadmin, "PUT", f"/os-quota-sets/{project}", mv="2.36", body={"quota_set": {"floating_ips": 1}})
    assert gone.status_code == 400
    assert call(cadmin, "GET", f"/os-quota-sets/{project}").json() == before
    ok = call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"ram": "5120", "force": True}})
    assert ok.status_code == 200 and ok.json()["quota_set"]["ram"] == 5120 and "id" not in ok.json()["quota_set"]
    call(cadmin, "DELETE", f"/os-quota-sets/{project}")


def test_quota_classes(cadmin: Any, cdemo: Any) -> None:
    shown = call(cadmin, "GET", "/os-quota-class-sets/default").json()["quota_class_set"]
    assert shown["id"] == "default" and "server_groups" not in shown and "floating_ips" in shown
    at_250 = call(cadmin, "GET", "/os-quota-class-sets/default", mv="2.50").json()["quota_class_set"]
    assert at_250["server_groups"] == 10 and "floating_ips" not in at_250
    assert call(cdemo, "GET", "/os-quota-class-sets/default").status_code == 403
    updated = call(cadmin, "PUT", "/os-quota-class-sets/default", body={"quota_class_set": {"cores": 40}})
    assert updated.status_code == 200 and updated.json()["quota_class_set"]["cores"] == 40
    project = cdemo.current_project_id
    assert call(cdemo, "GET", f"/os-quota-sets/{project}").json()["quota_set"]["cores"] == 40
    call(cadmin, "PUT", "/os-quota-class-sets/default", body={"quota_class_set": {"cores": 20}})
    assert call(cdemo, "GET", f"/os-quota-sets/{project}").json()["quota_set"]["cores"] == 20


def test_limits(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    absolute = {row["Name"]: row["Value"] for row in ccloud.cli("limits", "show", "--absolute", cloud="devstack")}
    # The CLI renames Nova's fields (maxTotalInstances -> max_total_instances, ...).
    assert absolute["max_total_instances"] == 10 and absolute["max_total_cores"] == 20
    assert absolute["instances_used"] == 0 and absolute["max_total_keypairs"] == 100
    old = call(cdemo, "GET", "/limits").json()["limits"]
    assert old["rate"] == [] and old["absolute"]["maxPersonality"] == 5 and "maxImageMeta" in old["absolute"]
    new = call(cdemo, "GET", "/limits", mv="2.57").json()["limits"]["absolute"]
    assert "maxPersonality" not in new and "maxImageMeta" not in new and "maxSecurityGroups" not in new
    project = cdemo.current_project_id
    call(cadmin, "PUT", f"/os-quota-sets/{project}", body={"quota_set": {"instances": 3}})
    assert call(cadmin, "GET", f"/limits?tenant_id={project}").json()["limits"]["absolute"]["maxTotalInstances"] == 3
    assert call(cdemo, "GET", f"/limits?tenant_id={cadmin.current_project_id}").status_code == 403
    call(cadmin, "DELETE", f"/os-quota-sets/{project}")


def test_availability_zones(ccloud: RunningCloud, cadmin: Any, cdemo: Any) -> None:
    # One simulated host in the default zone; conductor and scheduler in the internal one (all
    # named after the machine, as in DevStack: test_compute_host_name.py checks the name).
    assert call(cdemo, "GET", "/os-availability-zone").json() == {
        "availabilityZoneInfo": [{"zoneName": "nova", "zoneState": {"available": True}, "hosts": None}]}
    detail = {z["zoneName"]: z for z in call(cadmin, "GET", "/os-availability-zone/detail").json()[
        "availabilityZoneInfo"]}
    assert set(detail) == {"nova", "internal"}
    host = ccloud.compute_host()
    compute = detail["nova"]["hosts"][host]["nova-compute"]
    assert compute["available"] is True and compute["active"] is True and compute["updated_at"]
    assert set(detail["internal"]["hosts"][host]) == {"nova-conductor", "nova-scheduler"}
    assert call(cdemo, "GET", "/os-availability-zone/detail").status_code == 403
