"""Compute's rows of the isolation matrix (test_isolation.py).

Nova looks an instance up scoped to the caller's project before it checks a policy, so every
route under another project's server answers 404; so do another user's keypair, another
project's server group and a private flavor without access. Admin APIs (hosts, services,
hypervisors, aggregates, migrations, flavor management, other projects' quotas and usage)
check policy first: 403.
"""

from __future__ import annotations

import uuid
from typing import Any

from tests.functional.cloud import wait_until
from tests.functional.isolation_support import (
    Actors,
    Probe,
    Seeded,
    ServiceMatrix,
    nova_shape,
    ok,
    register,
    view,
)

V = "/compute/v2.1"
LATEST = {"OpenStack-API-Version": "compute 2.96"}
IMAGE = "onestack-tiny-x86_64-disk"


def _mv(version: str) -> dict[str, str]:
    return {"OpenStack-API-Version": f"compute {version}"}


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    tag = uuid.uuid4().hex[:10]
    alt, admin = a.alt_http, a.admin_http
    image = ok(admin.get("/image/v2/images", params={"name": IMAGE}))["images"][0]["id"]
    ids["public_image"] = image
    ids["private_image"] = ok(alt.post("/image/v2/images", json={
        "name": f"iso-nova-{tag}", "visibility": "private", "disk_format": "raw", "container_format": "bare"}))["id"]
    ids["community_image"] = ok(alt.post("/image/v2/images", json={
        "name": f"iso-nova-c-{tag}", "visibility": "community", "disk_format": "raw", "container_format": "bare"}))["id"]
    ids["keypair"] = ok(alt.post(f"{V}/os-keypairs", json={"keypair": {"name": f"iso-kp-{tag}"}}))["keypair"]["name"]
    # keypair names are per user: demo may hold one named as alt_demo's (a name unique per cloud would clash)
    ok(a.demo_http.post(f"{V}/os-keypairs", json={"keypair": {"name": ids["keypair"]}}))
    ok(a.demo_http.delete(f"{V}/os-keypairs/{ids['keypair']}"))
    ids["group"] = ok(alt.post(f"{V}/os-server-groups", json={
        "server_group": {"name": f"iso-sg-{tag}", "policies": ["anti-affinity"]}}))["server_group"]["id"]
    ids["meta_key"], ids["tag"] = f"iso-key-{tag}", f"iso-tag-{tag}"
    server = ok(alt.post(f"{V}/servers", headers=LATEST, json={
        "server": {"name": f"iso-srv-{tag}", "flavorRef": "1", "imageRef": image, "networks": "none",
                   "key_name": ids["keypair"], "metadata": {ids["meta_key"]: "alt"}, "tags": [ids["tag"]]},
        "os:scheduler_hints": {"group": ids["group"]}}))["server"]
    ids["server"] = server["id"]
    flavor = ok(admin.post(f"{V}/flavors", json={"flavor": {
        "name": f"iso-flavor-{tag}", "ram": 64, "vcpus": 1, "disk": 1, "os-flavor-access:is_public": False}}))
    ids["flavor"] = flavor["flavor"]["id"]
    ok(admin.post(f"{V}/flavors/{ids['flavor']}/action", json={"addTenantAccess": {"tenant": ids["alt_project"]}}))
    ids["spec"] = "hw:cpu_policy"
    ok(admin.post(f"{V}/flavors/{ids['flavor']}/os-extra_specs", json={"extra_specs": {ids["spec"]: "dedicated"}}))
    ids["aggregate"] = str(ok(admin.post(f"{V}/os-aggregates", json={
        "aggregate": {"name": f"iso-agg-{tag}"}}))["aggregate"]["id"])
    hypervisor = ok(admin.get(f"{V}/os-hypervisors", headers=_mv("2.52")))["hypervisors"][0]
    ids["hypervisor"], ids["hostname"] = str(hypervisor["id"]), hypervisor["hypervisor_hostname"]
    ids["service"] = str(ok(admin.get(f"{V}/os-services", headers=LATEST))["services"][0]["id"])
    # demo's own server, to point its actions at alt_demo's private image and flavor
    ids["demo_server"] = ok(a.demo_http.post(f"{V}/servers", headers=LATEST, json={"server": {
        "name": f"iso-demo-{tag}", "flavorRef": "1", "imageRef": image, "networks": "none"}}))["server"]["id"]
    for conn, sid in ((alt, ids["server"]), (a.demo_http, ids["demo_server"])):
        wait_until(lambda c=conn, i=sid: ok(c.get(f"{V}/servers/{i}"))["server"]["status"] == "ACTIVE",
                   what=f"server {sid} ACTIVE")
    actions = ok(alt.get(f"{V}/servers/{ids['server']}/os-instance-actions"))["instanceActions"]
    ids["request_id"] = actions[0]["request_id"]
    ids.update(migration="1", label="private", missing=str(uuid.uuid4()), when="2026-01-01 00:00:00",
               alias="os-keypairs", quota_class="default")
    # the network proxies: alt_demo's network, security group (and a rule), floating IP
    q = "/networking/v2.0"
    ids["alt_network"] = ok(alt.post(f"{q}/networks", json={"network": {"name": f"iso-net-{tag}"}}))["network"]["id"]
    ids["secgroup"] = ok(alt.post(f"{q}/security-groups", json={"security_group": {
        "name": f"iso-secgroup-{tag}"}}))["security_group"]["id"]
    ids["secgroup_rule"] = ok(alt.post(f"{q}/security-group-rules", json={"security_group_rule": {
        "security_group_id": ids["secgroup"], "direction": "ingress", "protocol": "tcp", "port_range_min": 22,
        "port_range_max": 22}}))["security_group_rule"]["id"]
    ext = ok(admin.post(f"{q}/networks", json={"network": {"name": f"iso-ext-{tag}", "router:external": True}}))
    ids["ext_network"] = ext["network"]["id"]
    ok(admin.post(f"{q}/subnets", json={"subnet": {"network_id": ids["ext_network"], "cidr": "198.51.100.0/24",
                                                   "ip_version": 4}}))
    fip = ok(alt.post(f"{q}/floatingips", json={"floatingip": {"floating_network_id": ids["ext_network"]}}))
    ids["fip"], ids["fip_address"] = fip["floatingip"]["id"], fip["floatingip"]["floating_ip_address"]
    # alt_demo's volume and its snapshot, for the volume proxies and volume attachments
    cinder = "/volume/v3"
    ids["alt_volume"] = ok(alt.post(f"{cinder}/volumes", json={"volume": {"size": 1, "name": f"iso-nova-v-{tag}"}}))[
        "volume"]["id"]
    wait_until(lambda: ok(alt.get(f"{cinder}/volumes/{ids['alt_volume']}"))["volume"]["status"] == "available",
               what="alt's volume available")
    ids["alt_snapshot"] = ok(alt.post(f"{cinder}/snapshots", json={"snapshot": {"volume_id": ids["alt_volume"]}}))[
        "snapshot"]["id"]
    wait_until(lambda: ok(alt.get(f"{cinder}/snapshots/{ids['alt_snapshot']}"))["snapshot"]["status"] == "available",
               what="alt's snapshot available")
    secrets = {ids[k] for k in ("alt_volume", "alt_snapshot", "private_image", "keypair", "group", "server", "flavor", "meta_key", "tag",
                                "request_id")} | {f"iso-srv-{tag}", f"iso-flavor-{tag}", f"iso-agg-{tag}"}

    def snapshot() -> Any:
        sid = ids["server"]
        server = view(alt.get(f"{V}/servers/{sid}", headers=LATEST))
        if server[0] == 200:
            server[1]["server"].pop("updated", None)  # the host's power-state sync may touch it
        return [server, view(alt.get(f"{V}/servers/{sid}/metadata")), view(alt.get(f"{V}/servers/{sid}/os-instance-actions")),
                view(alt.get(f"{V}/os-keypairs/{ids['keypair']}")), view(alt.get(f"{V}/os-server-groups/{ids['group']}")),
                view(admin.get(f"{V}/flavors/{ids['flavor']}", headers=LATEST)),
                view(admin.get(f"{V}/flavors/{ids['flavor']}/os-extra_specs")),
                view(admin.get(f"{V}/flavors/{ids['flavor']}/os-flavor-access")),
                view(admin.get(f"{V}/os-aggregates/{ids['aggregate']}")),
                view(admin.get(f"{V}/os-quota-sets/{ids['alt_project']}")),
                view(alt.get(f"/networking/v2.0/security-groups/{ids['secgroup']}")),
                view(alt.get(f"/networking/v2.0/floatingips/{ids['fip']}")),
                view(alt.get(f"/image/v2/images/{ids['private_image']}")),
                view(alt.get(f"/image/v2/images/{ids['community_image']}")),
                view(alt.get(f"/volume/v3/volumes/{ids['alt_volume']}")),
                view(alt.get(f"/volume/v3/snapshots/{ids['alt_snapshot']}"))]

    cleanup = [(a.demo_http, "DELETE", f"{V}/servers/{ids['demo_server']}"),
               (alt, "DELETE", f"{V}/servers/{ids['server']}"),
               (alt, "DELETE", f"{V}/os-keypairs/{ids['keypair']}"),
               (alt, "DELETE", f"{V}/os-server-groups/{ids['group']}"),
               (alt, "DELETE", f"/volume/v3/volumes/{ids['alt_volume']}?cascade=true"),
               (alt, "DELETE", f"/image/v2/images/{ids['private_image']}"),
               (alt, "DELETE", f"/image/v2/images/{ids['community_image']}"),
               (admin, "DELETE", f"{V}/flavors/{ids['flavor']}"),
               (admin, "DELETE", f"{V}/os-aggregates/{ids['aggregate']}"),
               (alt, "DELETE", f"/networking/v2.0/floatingips/{ids['fip']}"),
               (alt, "DELETE", f"/networking/v2.0/security-groups/{ids['secgroup']}"),
               (alt, "DELETE", f"/networking/v2.0/networks/{ids['alt_network']}"),
               (admin, "DELETE", f"/networking/v2.0/networks/{ids['ext_network']}")]
    return Seeded(ids, secrets, snapshot, cleanup)


SERVER = r"/v2\.1/servers/\{server_id\}"
FLAVOR = r"/v2\.1/flavors/\{flavor_id\}"
PARAMS = {"server_id": "server", "flavor_id": "flavor", "key": "meta_key", "name": "keypair", "group_id": "group",
          "project_id": "alt_project", "tenant_id": "alt_project", "aggregate_id": "aggregate", "image_id":
          "private_image", "hypervisor_id": "hypervisor", "pattern": "hostname", "host_name": "hostname",
          "service_id": "service", "migration_id": "migration", "network_label": "label", "before_timestamp": "when",
          "class_name": "quota_class"}
COMMUNITY = {"image_id": "community_image"}
SERVER_ACTIONS: list[dict[str, Any]] = [{"reboot": {"type": "SOFT"}}, {"os-stop": None}, {"pause": None}, {"lock": {}},
                  {"createImage": {"name": "stolen"}}, {"resize": {"flavorRef": "2"}}, {"os-resetState": {"state": "error"}},
                  {"migrate": None}, {"forceDelete": None},
                  {"rebuild": {"imageRef": "{public_image}"}}, {"os-getConsoleOutput": {}}, {"createBackup": {
                      "name": "b", "backup_type": "daily", "rotation": 1}}, {"changePassword": {"adminPass": "x"}},
                  {"addSecurityGroup": {"name": "default"}}, {"removeSecurityGroup": {"name": "default"}},
                  {"addFloatingIp": {"address": "198.51.100.7"}}, {"removeFloatingIp": {"address": "198.51.100.7"}},
                  {"injectNetworkInfo": None}]


def _action(body: dict[str, Any]) -> Any:
    return lambda ids: {k: ({"imageRef": ids["public_image"]} if k == "rebuild" else v) for k, v in body.items()}


P = PARAMS
ROWS: tuple[Probe, ...] = (
    Probe("GET", r"/|/v2(\.1)?/?|/v2\.1/versions/\{version_id\}", None, "version documents: the same for every caller"),
    Probe("GET", r"/v2\.1/extensions(/\{alias\})?", 200, sweep=False),
    # servers: lists never show alt's; everything under alt's server is 404
    Probe("GET", r"/v2\.1/servers(/detail)?", 200),
    Probe("GET", r"/v2\.1/servers(/detail)?", 403, query="all_tenants=1"),
    Probe("GET", r"/v2\.1/servers/detail", 200, query="project_id={alt_project}"),
    Probe("GET", r"/v2\.1/servers", 200, query="tenant_id={alt_project}&name=iso-srv"),
    # Nova looks a marker up elevated (instance_list.get_marker_record): pages after alt's server, of demo's own
    Probe("GET", r"/v2\.1/servers(/detail)?", 200, query="marker={server}"),
    Probe("POST", r"/v2\.1/servers", 400, body=lambda ids: {"server": {
        "name": "x", "flavorRef": "1", "imageRef": ids["private_image"], "networks": "none"}}),
    Probe("POST", r"/v2\.1/servers", 400, body=lambda ids: {"server": {
        "name": "x", "flavorRef": "1", "imageRef": ids["public_image"], "networks": "none",
        "key_name": ids["keypair"]}}),
    Probe("POST", r"/v2\.1/servers", 400, body=lambda ids: {"server": {
        "name": "x", "flavorRef": ids["flavor"], "imageRef": ids["public_image"], "networks": "none"}}),
    Probe("POST", r"/v2\.1/servers", 400, body=lambda ids: {"server": {
        "name": "x", "flavorRef": "1", "imageRef": ids["public_image"], "networks": "none"},
        "os:scheduler_hints": {"group": ids["group"]}}),
    Probe("POST", r"/v2\.1/servers", 403, body=lambda ids: {"server": {  # forcing a host is an admin's
        "name": "x", "flavorRef": "1", "imageRef": ids["public_image"], "networks": "none",
        "availability_zone": f"nova:{ids['hostname']}"}}),
    Probe("POST", r"/v2\.1/servers", 403, body=lambda ids: {"server": {  # so is requesting one (2.74)
        "name": "x", "flavorRef": "1", "imageRef": ids["public_image"], "networks": "none", "host": ids["hostname"]}}),
    Probe("GET DELETE", SERVER, 404, params=P),
    Probe("PUT", SERVER, 404, params=P, body={"server": {"name": "stolen"}}),
    *(Probe("POST", SERVER + "/action", 404, params=P, body=_action(b)) for b in SERVER_ACTIONS),
    Probe("POST", SERVER + "/action", 400, params={"server_id": "demo_server"},
          body=lambda ids: {"rebuild": {"imageRef": ids["private_image"]}}),
    Probe("POST", SERVER + "/action", 400, params={"server_id": "demo_server"},
          body=lambda ids: {"resize": {"flavorRef": ids["flavor"]}}),
    Probe("POST", SERVER + "/action", 400, params={"server_id": "demo_server"},
          body=lambda ids: {"rebuild": {"imageRef": ids["public_image"], "key_name": ids["keypair"]}}),
    Probe("POST", SERVER + "/action", 400, params={"server_id": "demo_server"},
          body=lambda ids: {"rescue": {"rescue_image_ref": ids["private_image"]}}),
    # a snapshot's metadata reaches the image record: the image service judges it as demo's own create
    Probe("POST", SERVER + "/action", 403, params={"server_id": "demo_server"},
          body=lambda ids: {"createImage": {"name": "planted", "metadata": {"owner": ids["alt_project"]}}}),
    Probe("POST", SERVER + "/action", 403, params={"server_id": "demo_server"},
          body={"createImage": {"name": "published", "metadata": {"visibility": "public"}}}),
    Probe("POST", SERVER + "/action", 403, params={"server_id": "demo_server"}, body=lambda ids: {"createBackup": {
        "name": "planted", "backup_type": "daily", "rotation": 1, "metadata": {"owner": ids["alt_project"]}}}),
    Probe("POST", SERVER + "/remote-consoles", 404, params=P,
          body={"remote_console": {"protocol": "vnc", "type": "novnc"}}),
    Probe("GET", SERVER + r"/migrations(/\{migration_id\})?", 404, params=P),
    Probe("DELETE", SERVER + r"/migrations/\{migration_id\}", 404, params=P),
    Probe("POST", SERVER + r"/migrations/\{migration_id\}/action", 404, params=P, body={"force_complete": None}),
    Probe("GET DELETE", SERVER + r"/metadata(/\{key\})?", 404, params=P),
    Probe("POST PUT", SERVER + "/metadata", 404, params=P, body={"metadata": {"stolen": "1"}}),
    Probe("PUT", SERVER + r"/metadata/\{key\}", 404, params=P, body=lambda ids: {"meta": {ids["meta_key"]: "x"}}),
    Probe("GET DELETE", SERVER + r"/tags(/\{tag\})?", 404, params=P),
    Probe("PUT", SERVER + r"/tags", 404, params=P, body={"tags": ["stolen"]}),
    Probe("PUT", SERVER + r"/tags/\{tag\}", 404, params=P),
    Probe("GET", SERVER + r"/os-instance-actions(/\{request_id\})?", 404, params=P),
    Probe("GET DELETE", SERVER + r"/(diagnostics|os-server-password|ips)", 404, params=P),
    Probe("GET", SERVER + r"/ips/\{network_label\}", 404, params=P),
    Probe("GET", SERVER + "/topology", 404, params=P),
    # shares (2.97): another project's server is not found before any share is looked for
    Probe("GET DELETE", SERVER + r"/shares(/\{share_id\})?", 404, params={**P, "share_id": "group"},
          headers=_mv("2.97")),
    Probe("POST", SERVER + "/shares", 404, params=P, headers=_mv("2.97"),
          body={"share": {"share_id": "e8debdc0-447a-4376-a10a-4cd9122d7986"}}),
    # another project's server has no interfaces demo can list, attach or detach
    Probe("GET POST", SERVER + "/os-interface", 404, params=P, body={"interfaceAttachment": {}}),
    Probe("GET DELETE", SERVER + r"/os-interface/\{port_id\}", 404, params={**P, "port_id": "server"}),
    # APIs Nova removed: 410 for every caller, without looking anything up
    Probe("GET POST PUT DELETE", r"/v2\.1/(os-agents|os-cells|os-certificates|os-cloudpipe|os-fixed-ips|os-floating-ip-dns"
          r"|os-floating-ips-bulk|os-fping|os-security-group-default-rules)(/.*)?", 410,
          params={**P, "id": "flavor", "name": "flavor"}, body={}),
    Probe("GET POST DELETE", SERVER + r"/(consoles(/\{id\})?|os-virtual-interfaces)", 410,
          params={**P, "id": "flavor"}, body={}),
    # flavors: a private flavor without access does not exist for demo; managing flavors is admin's
    Probe("GET", r"/v2\.1/flavors(/detail)?", 200),
    Probe("GET", r"/v2\.1/flavors/detail", 200, query="is_public=None"),
    Probe("GET", r"/v2\.1/flavors(/detail)?", 400, query="marker={flavor}"),
    Probe("GET", FLAVOR, 404, params=P),
    Probe("POST", r"/v2\.1/flavors", 403, body={"flavor": {"name": "stolen", "ram": 64, "vcpus": 1, "disk": 1}}),
    Probe("PUT", FLAVOR, 403, params=P, body={"flavor": {"description": "stolen"}}),
    Probe("DELETE", FLAVOR, 403, params=P),
    Probe("GET", FLAVOR + r"/os-extra_specs(/\{key\})?", 404, params={**P, "key": "spec"}),
    Probe("POST", FLAVOR + "/os-extra_specs", 403, params=P, body={"extra_specs": {"hw:mem_page_size": "small"}}),
    Probe("PUT", FLAVOR + r"/os-extra_specs/\{key\}", 403, params={**P, "key": "spec"},
          body={"hw:cpu_policy": "shared"}),
    Probe("DELETE", FLAVOR + r"/os-extra_specs/\{key\}", 403, params={**P, "key": "spec"}),
    Probe("GET", FLAVOR + "/os-flavor-access", 403, params=P),
    Probe("POST", FLAVOR + "/action", 403, params=P, body=lambda ids: {"addTenantAccess": {"tenant": ids["demo_project"]}}),
    Probe("POST", FLAVOR + "/action", 403, params=P, body=lambda ids: {"removeTenantAccess": {"tenant": ids["alt_project"]}}),
    # keypairs are per user, server groups per project
    Probe("GET", r"/v2\.1/os-keypairs", 200),
    Probe("GET", r"/v2\.1/os-keypairs", 403, query="user_id={alt_user}"),
    Probe("GET", r"/v2\.1/os-keypairs", 400, query="marker={keypair}"),  # another user's: not found
    Probe("POST", r"/v2\.1/os-keypairs", 403, headers=_mv("2.10"), body=lambda ids: {  # for another user: admin's
        "keypair": {"name": "stolen", "user_id": ids["alt_user"]}}),
    Probe("GET DELETE", r"/v2\.1/os-keypairs/\{name\}", 404, params=P),
    Probe("GET", r"/v2\.1/os-keypairs/\{name\}", 403, params=P, query="user_id={alt_user}"),
    Probe("GET", r"/v2\.1/os-server-groups", 200),
    Probe("GET", r"/v2\.1/os-server-groups", 200, query="all_projects=True"),
    Probe("POST", r"/v2\.1/os-server-groups", None, "creates a group in demo's own project"),
    # Nova's group lookup is scoped to the caller's project (objects/instance_group.py): 404
    Probe("GET DELETE", r"/v2\.1/os-server-groups/\{group_id\}", 404, params=P),
    # quotas and usage of another project; defaults are the same for everyone
    Probe("GET", r"/v2\.1/os-quota-sets/\{project_id\}(/detail)?", 403, params=P),
    Probe("GET", r"/v2\.1/os-quota-sets/\{project_id\}/defaults", 200, params=P),
    Probe("PUT", r"/v2\.1/os-quota-sets/\{project_id\}", 403, params=P, body={"quota_set": {"instances": 99}}),
    Probe("PUT", r"/v2\.1/os-quota-sets/\{project_id\}", 403, params={"project_id": "demo_project"},
          body={"quota_set": {"instances": 99}}),  # even demo's own
    Probe("DELETE", r"/v2\.1/os-quota-sets/\{project_id\}", 403, params=P),
    Probe("GET", r"/v2\.1/os-quota-class-sets/\{class_name\}", 403, params=P),
    Probe("PUT", r"/v2\.1/os-quota-class-sets/\{class_name\}", 403, params=P, body={"quota_class_set": {"cores": 99}}),
    Probe("GET", r"/v2\.1/limits", 200),
    Probe("GET", r"/v2\.1/limits", 403, query="tenant_id={alt_project}"),
    Probe("GET", r"/v2\.1/os-simple-tenant-usage", 403),
    Probe("GET", r"/v2\.1/os-simple-tenant-usage/", 404),  # an empty tenant id: no route in Nova
    Probe("GET", r"/v2\.1/os-simple-tenant-usage/\{tenant_id\}", 403, params=P),
    # admin-only APIs
    Probe("GET", r"/v2\.1/os-availability-zone", 200),
    Probe("GET", r"/v2\.1/os-availability-zone/detail", 403),
    Probe("GET", r"/v2\.1/os-hosts(/\{host_name\}(/startup|/shutdown|/reboot)?)?", 403, params=P, headers=_mv("2.42")),
    Probe("PUT", r"/v2\.1/os-hosts/\{host_name\}", 403, params=P, headers=_mv("2.42"), body={"status": "disable"}),
    Probe("GET", r"/v2\.1/os-services", 403),
    Probe("PUT", r"/v2\.1/os-services/\{service_id\}", 403, params=P, body={"status": "disabled"}),
    Probe("DELETE", r"/v2\.1/os-services/\{service_id\}", 403, params=P),
    Probe("GET", r"/v2\.1/os-hypervisors(/detail)?", 403),
    Probe("GET", r"/v2\.1/os-hypervisors/statistics", 403, headers=_mv("2.87")),
    Probe("GET", r"/v2\.1/os-hypervisors/\{hypervisor_id\}", 403, params=P),
    Probe("GET", r"/v2\.1/os-hypervisors/\{hypervisor_id\}/uptime", 403, params=P, headers=_mv("2.87")),
    Probe("GET", r"/v2\.1/os-hypervisors/\{pattern\}/(search|servers)", 403, params=P, headers=_mv("2.52")),
    Probe("GET", r"/v2\.1/os-aggregates(/\{aggregate_id\})?", 403, params=P),
    Probe("POST", r"/v2\.1/os-aggregates", 403, body={"aggregate": {"name": "stolen"}}),
    Probe("PUT", r"/v2\.1/os-aggregates/\{aggregate_id\}", 403, params=P, body={"aggregate": {"name": "stolen"}}),
    Probe("DELETE", r"/v2\.1/os-aggregates/\{aggregate_id\}", 403, params=P),
    Probe("POST", r"/v2\.1/os-aggregates/\{aggregate_id\}/images", 403, params=P, body=lambda ids: {"cache": [{"id": ids["public_image"]}]}),
    Probe("POST", r"/v2\.1/os-aggregates/\{aggregate_id\}/action", 403, params=P,
          body=lambda ids: {"add_host": {"host": ids["hostname"]}}),
    Probe("GET", r"/v2\.1/os-instance_usage_audit_log(/\{before_timestamp\})?", 403, params=P),
    Probe("GET", r"/v2\.1/os-migrations", 403),
    # assisted volume snapshots are Cinder's (a service's or an admin's) to ask for
    Probe("POST", r"/v2\.1/os-assisted-volume-snapshots", 403, body=lambda ids: {"snapshot": {
        "volume_id": ids["alt_volume"], "create_info": {"snapshot_id": ids["alt_snapshot"], "type": "qcow2",
                                                        "new_file": "stolen.qcow2"}}}),
    Probe("DELETE", r"/v2\.1/os-assisted-volume-snapshots/\{snapshot_id\}", 403,
          params={"snapshot_id": "alt_snapshot"}),
    Probe("POST", r"/v2\.1/os-server-external-events", 403, body=lambda ids: {"events": [
        {"name": "network-changed", "server_uuid": ids["server"]}]}),
    # the network proxies (until 2.35) ask the network service as demo: alt's resources are not there
    Probe("GET", r"/v2\.1/(os-networks|os-tenant-networks|os-security-groups|os-floating-ips|os-floating-ip-pools)",
          200, headers=_mv("2.35")),
    Probe("GET", r"/v2\.1/(os-networks|os-tenant-networks)/\{network_id\}", 404, params={"network_id": "alt_network"},
          headers=_mv("2.35")),
    Probe("POST", r"/v2\.1/(os-networks|os-networks/add|os-tenant-networks)", 410, body={}),
    Probe("DELETE", r"/v2\.1/(os-networks|os-tenant-networks)/\{network_id\}", 410,
          params={"network_id": "alt_network"}),
    Probe("POST", r"/v2\.1/os-networks/\{network_id\}/action", 410, params={"network_id": "alt_network"},
          body={"disassociate": None}),
    Probe("GET DELETE", r"/v2\.1/os-security-groups/\{group_id\}", 404, params={"group_id": "secgroup"},
          headers=_mv("2.35")),
    Probe("PUT", r"/v2\.1/os-security-groups/\{group_id\}", 404, params={"group_id": "secgroup"},
          headers=_mv("2.35"), body={"security_group": {"name": "stolen", "description": "stolen"}}),
    Probe("DELETE", r"/v2\.1/os-security-groups/", 404, headers=_mv("2.35")),
    Probe("POST", r"/v2\.1/os-security-groups", 400, headers=_mv("2.35"), body={"security_group": {}}),
    Probe("POST", r"/v2\.1/os-security-group-rules", 404, headers=_mv("2.35"), body=lambda ids: {
        "security_group_rule": {"parent_group_id": ids["secgroup"], "ip_protocol": "tcp", "from_port": 1,
                                "to_port": 2}}),
    Probe("DELETE", r"/v2\.1/os-security-group-rules/\{rule_id\}", 404, params={"rule_id": "secgroup_rule"},
          headers=_mv("2.35")),
    Probe("GET DELETE", r"/v2\.1/os-floating-ips/\{fip_id\}", 404, params={"fip_id": "fip"}, headers=_mv("2.35")),
    Probe("POST", r"/v2\.1/os-floating-ips", 404, headers=_mv("2.35"), body={"pool": "iso-no-such-pool"}),
    Probe("GET", SERVER + "/os-security-groups", 404, params=P),
    Probe("POST", SERVER + "/action", 404, params={"server_id": "demo_server"},  # alt's group is not demo's to add
          body=lambda ids: {"addSecurityGroup": {"name": ids["secgroup"]}}),
    Probe("POST", SERVER + "/action", 404, params={"server_id": "demo_server"}, headers=_mv("2.35"),
          body=lambda ids: {"removeFloatingIp": {"address": ids["fip_address"]}}),
    # the volume proxies (until 2.35) ask the block-storage service as demo: alt's are not there
    Probe("GET", r"/v2\.1/(os-volumes|os-snapshots)(/detail)?", 200, headers=_mv("2.35")),
    Probe("GET DELETE", r"/v2\.1/os-volumes/\{volume_id\}", 404, params={"volume_id": "alt_volume"},
          headers=_mv("2.35")),
    Probe("GET DELETE", r"/v2\.1/os-snapshots/\{snapshot_id\}", 404, params={"snapshot_id": "alt_snapshot"},
          headers=_mv("2.35")),
    Probe("GET DELETE", r"/v2\.1/(os-volumes|os-snapshots)/", 404, headers=_mv("2.35")),
    Probe("POST", r"/v2\.1/os-volumes", 404, headers=_mv("2.35"),
          body=lambda ids: {"volume": {"size": 1, "snapshot_id": ids["alt_snapshot"]}}),
    Probe("POST", r"/v2\.1/os-snapshots", 404, headers=_mv("2.35"),
          body=lambda ids: {"snapshot": {"volume_id": ids["alt_volume"]}}),
    # volume attachments: alt's server has none for demo; alt's volume cannot go on demo's server
    Probe("GET POST", SERVER + "/os-volume_attachments", 404, params=P,
          body=lambda ids: {"volumeAttachment": {"volumeId": ids["alt_volume"]}}),
    Probe("GET DELETE", SERVER + r"/os-volume_attachments/\{volume_id\}", 404,
          params={**P, "volume_id": "alt_volume"}),
    Probe("PUT", SERVER + r"/os-volume_attachments/\{volume_id\}", 404, params={**P, "volume_id": "alt_volume"},
          body=lambda ids: {"volumeAttachment": {"volumeId": ids["alt_volume"]}}),
    Probe("POST", SERVER + "/os-volume_attachments", 404, params={"server_id": "demo_server"},
          body=lambda ids: {"volumeAttachment": {"volumeId": ids["alt_volume"]}}),
    # the image proxy (until 2.35): alt's private image is not there
    Probe("GET", r"/v2\.1/images(/detail)?", 200, headers=_mv("2.35")),
    Probe("GET DELETE", r"/v2\.1/images/\{image_id\}", 404, params=P, headers=_mv("2.35")),
    Probe("DELETE", r"/v2\.1/images/", 404, headers=_mv("2.35")),
    Probe("GET", r"/v2\.1/images/\{image_id\}/metadata(/\{key\})?", 404, params={**P, "key": "meta_key"},
          headers=_mv("2.35")),
    Probe("POST PUT", r"/v2\.1/images/\{image_id\}/metadata", 404, params=P, headers=_mv("2.35"),
          body={"metadata": {"stolen": "1"}}),
    Probe("PUT", r"/v2\.1/images/\{image_id\}/metadata/\{key\}", 404, params={**P, "key": "meta_key"},
          headers=_mv("2.35"), body=lambda ids: {"meta": {ids["meta_key"]: "x"}}),
    Probe("DELETE", r"/v2\.1/images/\{image_id\}/metadata/\{key\}", 404, params={**P, "key": "meta_key"},
          headers=_mv("2.35")),
    # alt's community image: demo sees it, but changing it is refused by the image service (403)
    Probe("GET", r"/v2\.1/images/\{image_id\}(/metadata)?", 200, params=COMMUNITY, headers=_mv("2.35")),
    Probe("DELETE", r"/v2\.1/images/\{image_id\}", 403, params=COMMUNITY, headers=_mv("2.35")),
    Probe("POST PUT", r"/v2\.1/images/\{image_id\}/metadata", 403, params=COMMUNITY, headers=_mv("2.35"),
          body={"metadata": {"stolen": "1"}}),
    Probe("PUT", r"/v2\.1/images/\{image_id\}/metadata/\{key\}", 403, params={**COMMUNITY, "key": "meta_key"},
          headers=_mv("2.35"), body=lambda ids: {"meta": {ids["meta_key"]: "x"}}),
)

MATRIX = register(ServiceMatrix(
    service="compute-api", prefix="/compute", error=nova_shape, seed=seed, probes=ROWS, headers=LATEST,
    filters=("all_tenants=0", "project_id={alt_project}", "tenant_id={alt_project}", "user_id={alt_user}",
             "all_projects=1", "changes-since=2000-01-01T00:00:00Z", "deleted=true",
             "host={hostname}", "name=iso-srv", "tags={tag}", "flavor={flavor}")))
