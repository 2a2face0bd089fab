"""Servers get ports: compute creating, binding and deleting them over Neutron's REST API.

A cloud of its own with two simulated hosts (a cold migration must move a port's binding) and
no bootstrap networks, so each project sees exactly the networks these tests make. The network
agents of the hosts wire the ports and the network server tells compute (network-vif-plugged):
a server goes ACTIVE only then.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import call, module_cloud
from tests.functional.network_support import neutron

IMAGE = "onestack-tiny-x86_64-disk"

# heal_interval: addresses changed outside compute (a floating IP) show up within seconds.
ccloud = module_cloud("compute-net", {"ONESTACK_COMPUTE__HOSTS": "2", "ONESTACK_COMPUTE__HEAL_INTERVAL": "1",
                                      "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false"})


def uniq(prefix: str = "net") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


@pytest.fixture(scope="module")
def image(cadmin: Any) -> str:
    return str(cadmin.image.find_image(IMAGE, ignore_missing=False).id)


@pytest.fixture(scope="module")
def qdemo(ccloud: RunningCloud) -> httpx.Client:
    return neutron(ccloud, "devstack")


@pytest.fixture(scope="module")
def qadmin(ccloud: RunningCloud) -> httpx.Client:
    return neutron(ccloud, "devstack-admin")


def make_network(q: httpx.Client, cidr: str) -> dict[str, Any]:
    resp = q.post("/v2.0/networks", json={"network": {"name": uniq()}})
    assert resp.status_code == 201, resp.text
    net: dict[str, Any] = resp.json()["network"]
    resp = q.post("/v2.0/subnets", json={"subnet": {"network_id": net["id"], "cidr": cidr, "ip_version": 4,
                                                    "name": uniq("sub")}})
    assert resp.status_code == 201, resp.text
    net["subnet"] = resp.json()["subnet"]
    return net


@pytest.fixture(scope="module")
def net(qdemo: httpx.Client) -> dict[str, Any]:
    """demo's first network (a second one makes "auto" ambiguous for demo: see the test)."""
    return make_network(qdemo, "10.77.0.0/24")


def boot(conn: Any, image: str, networks: Any, mv: str = "2.37", **server: Any) -> Any:
    body = {"server": {"name": uniq("srv"), "flavorRef": "1", "imageRef": image, "networks": networks, **server}}
    if networks is None:  # omitted
        del body["server"]["networks"]
    return call(conn, "POST", "/servers", mv=mv, body=body)


def booted(conn: Any, image: str, networks: Any, mv: str = "2.37", **server: Any) -> str:
    resp = boot(conn, image, networks, mv, **server)
    assert resp.status_code == 202, resp.text
    sid = str(resp.json()["server"]["id"])
    active(conn, sid)
    return sid


def show(conn: Any, sid: str, mv: str = "2.1") -> dict[str, Any]:
    resp = call(conn, "GET", f"/servers/{sid}", mv=mv)
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]  # type: ignore[no-any-return]


def active(conn: Any, sid: str) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        server = show(conn, sid)
        assert server["status"] != "ERROR", server.get("fault")
        return server if server["status"] == "ACTIVE" else None
    return wait_until(ready, timeout=60, what=f"server {sid} ACTIVE")  # type: ignore[no-any-return]


def delete(conn: Any, sid: str) -> None:
    call(conn, "DELETE", f"/servers/{sid}")
    wait_until(lambda: call(conn, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what=f"{sid} deleted")


def ports_of(q: httpx.Client, sid: str) -> list[dict[str, Any]]:
    resp = q.get("/v2.0/ports", params={"device_id": sid})
    assert resp.status_code == 200, resp.text
    return resp.json()["ports"]  # type: ignore[no-any-return]


def port(q: httpx.Client, port_id: str) -> httpx.Response:
    return q.get(f"/v2.0/ports/{port_id}")


def message(resp: Any) -> str:
    body = resp.json()
    return str(next(iter(body.values()))["message"])


# --- boot modes ---------------------------------------------------------------------------------

def test_boot_on_a_network_gets_a_bound_port_and_addresses(cdemo: Any, cadmin: Any, qdemo: httpx.Client,
                                                           qadmin: httpx.Client, image: str,
                                                           net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    host = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    [p] = ports_of(qadmin, sid)
    assert p["device_owner"] == "compute:nova" and p["project_id"] == cdemo.current_project_id
    assert p["binding:host_id"] == host and p["status"] == "ACTIVE"
    assert p["binding:vif_type"] == "ovs"
    ip = p["fixed_ips"][0]["ip_address"]
    assert ip.startswith("10.77.0.")
    expected = {net["name"]: [{"version": 4, "addr": ip, "OS-EXT-IPS:type": "fixed",
                               "OS-EXT-IPS-MAC:mac_addr": p["mac_address"]}]}
    assert show(cdemo, sid)["addresses"] == expected
    listed = call(cdemo, "GET", "/servers/detail").json()["servers"]
    assert next(s for s in listed if s["id"] == sid)["addresses"] == expected
    ips = call(cdemo, "GET", f"/servers/{sid}/ips")
    assert ips.status_code == 200 and ips.json() == {"addresses": {net["name"]: [{"version": 4, "addr": ip}]}}
    one = call(cdemo, "GET", f"/servers/{sid}/ips/{net['name']}")
    assert one.status_code == 200 and one.json() == {net["name"]: [{"version": 4, "addr": ip}]}
    assert call(cdemo, "GET", f"/servers/{sid}/ips/nowhere").status_code == 404
    # The user sees the port too (it is the project's).
    assert [x["id"] for x in ports_of(qdemo, sid)] == [p["id"]]
    delete(cdemo, sid)
    assert port(qadmin, p["id"]).status_code == 404  # compute made it: compute deleted it


def test_boot_with_a_port_keeps_it_after_delete(cdemo: Any, cadmin: Any, qdemo: httpx.Client,
                                                qadmin: httpx.Client, image: str, net: dict[str, Any]) -> None:
    made = qdemo.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}).json()["port"]
    sid = booted(cdemo, image, [{"port": made["id"]}])
    bound = port(qadmin, made["id"]).json()["port"]  # binding:* are an admin's attributes
    assert bound["device_id"] == sid and bound["device_owner"] == "compute:nova"
    assert bound["binding:host_id"] == show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    # In use: another server cannot take it (Nova's 409).
    taken = boot(cdemo, image, [{"port": made["id"]}])
    assert taken.status_code == 409 and message(taken) == f"Port {made['id']} is still in use."
    delete(cdemo, sid)
    kept = port(qadmin, made["id"])
    assert kept.status_code == 200
    assert (kept.json()["port"]["device_id"], kept.json()["port"]["device_owner"]) == ("", "")
    assert not kept.json()["port"]["binding:host_id"]
    assert qdemo.delete(f"/v2.0/ports/{made['id']}").status_code == 204


def test_deleted_while_building_leaves_no_port(cdemo: Any, qdemo: httpx.Client, image: str,
                                               net: dict[str, Any]) -> None:
    """A delete cancels the build on its host; the port the build was creating must still go
    (its create finished on the network side after the cleanup had listed none, once: Tempest's
    DeleteServersTestJSON then could not delete its subnet)."""
    for reads in range(8):
        resp = boot(cdemo, image, [{"uuid": net["id"]}])
        assert resp.status_code == 202, resp.text
        sid = str(resp.json()["server"]["id"])
        for _ in range(reads % 4):  # the delete lands at a different point of the build each time
            show(cdemo, sid)
        delete(cdemo, sid)
        assert ports_of(qdemo, sid) == []


def test_boot_with_a_fixed_ip(cdemo: Any, qadmin: httpx.Client, image: str, net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"], "fixed_ip": "10.77.0.50"}])
    [p] = ports_of(qadmin, sid)
    assert [ip["ip_address"] for ip in p["fixed_ips"]] == ["10.77.0.50"]
    again = boot(cdemo, image, [{"uuid": net["id"], "fixed_ip": "10.77.0.50"}])
    assert again.status_code == 400, again.text
    assert message(again) == f"Fixed IP address 10.77.0.50 is already in use on instance {sid}."
    # A rebuild keeps the server's port and address (the API answers once the row says REBUILD).
    resp = call(cdemo, "POST", f"/servers/{sid}/action", body={"rebuild": {"imageRef": image}})
    assert resp.status_code == 202, resp.text
    active(cdemo, sid)
    assert [x["id"] for x in ports_of(qadmin, sid)] == [p["id"]]
    assert show(cdemo, sid)["addresses"][net["name"]][0]["addr"] == "10.77.0.50"
    delete(cdemo, sid)


def test_two_networks_keep_the_requested_order(cdemo: Any, qdemo: httpx.Client, qadmin: httpx.Client,
                                               image: str, net: dict[str, Any]) -> None:
    other = make_network(qdemo, "10.76.0.0/24")
    sid = booted(cdemo, image, [{"uuid": other["id"]}, {"uuid": net["id"]}, {"uuid": other["id"]}])
    assert list(show(cdemo, sid)["addresses"]) == [other["name"], net["name"]]
    assert [a["addr"][:8] for a in show(cdemo, sid)["addresses"][other["name"]]] == ["10.76.0.", "10.76.0."]
    assert len(ports_of(qadmin, sid)) == 3
    delete(cdemo, sid)
    assert ports_of(qadmin, sid) == []
    assert qdemo.delete(f"/v2.0/networks/{other['id']}").status_code == 204


def test_boot_with_none_has_no_ports(cdemo: Any, qadmin: httpx.Client, image: str) -> None:
    sid = booted(cdemo, image, "none")
    assert show(cdemo, sid)["addresses"] == {}
    assert ports_of(qadmin, sid) == []
    assert call(cdemo, "GET", f"/servers/{sid}/ips").json() == {"addresses": {}}
    delete(cdemo, sid)


def test_auto_takes_the_one_network_and_refuses_to_guess(calt: Any, cdemo: Any, image: str,
                                                          ccloud: RunningCloud, net: dict[str, Any]) -> None:
    qalt = neutron(ccloud, "devstack-alt")
    before = boot(calt, image, "auto")  # no network at all, and no auto-allocated topology to make one
    assert before.status_code == 400
    assert message(before) == f"Unable to automatically allocate a network for project {calt.current_project_id}"
    mine = make_network(qalt, "10.78.0.0/24")
    sid = booted(calt, image, "auto")
    assert list(show(calt, sid)["addresses"]) == [mine["name"]]
    legacy = booted(calt, image, None, mv="2.1", name=uniq("legacy"))  # networks omitted before 2.37
    assert list(show(calt, legacy)["addresses"]) == [mine["name"]]
    second = make_network(qalt, "10.79.0.0/24")
    ambiguous = boot(calt, image, "auto")
    assert ambiguous.status_code == 409
    assert message(ambiguous) == "Multiple possible networks found, use a Network ID to be more specific."
    for server in (sid, legacy):
        delete(calt, server)
    for network in (mine, second):
        assert qalt.delete(f"/v2.0/networks/{network['id']}").status_code == 204


def test_get_me_a_network_and_a_floating_ip(calt: Any, cdemo: Any, qadmin: httpx.Client, qdemo: httpx.Client,
                                            ccloud: RunningCloud, image: str, net: dict[str, Any]) -> None:
    ext = qadmin.post("/v2.0/networks", json={"network": {"name": uniq("ext"), "router:external": True,
                                                           "is_default": True}}).json()["network"]
    assert qadmin.post("/v2.0/subnets", json={"subnet": {"network_id": ext["id"], "cidr": "172.30.0.0/24",
                                                         "ip_version": 4}}).status_code == 201
    # An external network is seen by every project, but only an admin puts a server on it (Nova's 403).
    outside = boot(cdemo, image, [{"uuid": ext["id"]}])
    assert outside.status_code == 403
    assert message(outside) == f"It is not allowed to create an interface on external network {ext['id']}"
    # alt has no network of its own: "auto" has the network service make one (get-me-a-network).
    sid = booted(calt, image, "auto")
    [(label, addrs)] = show(calt, sid)["addresses"].items()
    topology = neutron(ccloud, "devstack-alt").get(f"/v2.0/auto-allocated-topology/{calt.current_project_id}")
    assert topology.status_code == 200
    assert qadmin.get(f"/v2.0/networks/{topology.json()['auto_allocated_topology']['id']}").json()[
        "network"]["name"] == label
    assert addrs[0]["OS-EXT-IPS:type"] == "fixed"
    delete(calt, sid)
    # A floating IP associated in the network service shows in the server's addresses.
    mine = booted(cdemo, image, [{"uuid": net["id"]}])
    [p] = ports_of(qdemo, mine)
    router = qdemo.post("/v2.0/routers", json={"router": {"name": uniq("r"), "external_gateway_info": {
        "network_id": ext["id"]}}}).json()["router"]
    assert qdemo.put(f"/v2.0/routers/{router['id']}/add_router_interface",
                     json={"subnet_id": net["subnet"]["id"]}).status_code == 200
    fip = qdemo.post("/v2.0/floatingips", json={"floatingip": {"floating_network_id": ext["id"],
                                                               "port_id": p["id"]}})
    assert fip.status_code == 201, fip.text
    address = fip.json()["floatingip"]["floating_ip_address"]
    wait_until(lambda: {"version": 4, "addr": address, "OS-EXT-IPS:type": "floating",
                        "OS-EXT-IPS-MAC:mac_addr": p["mac_address"]} in show(cdemo, mine)["addresses"][net["name"]],
               timeout=30, what="the floating IP in the server's addresses")
    assert qdemo.delete(f"/v2.0/floatingips/{fip.json()['floatingip']['id']}").status_code == 204
    delete(cdemo, mine)
    assert qdemo.put(f"/v2.0/routers/{router['id']}/remove_router_interface",
                     json={"subnet_id": net["subnet"]["id"]}).status_code == 200
    assert qdemo.delete(f"/v2.0/routers/{router['id']}").status_code == 204
    qalt = neutron(ccloud, "devstack-alt")
    assert qalt.delete(f"/v2.0/auto-allocated-topology/{calt.current_project_id}").status_code == 204
    # (The sdk test below boots on a cloud with no external network, so it adds no floating IP.)
    assert qadmin.delete(f"/v2.0/networks/{ext['id']}").status_code == 204


def test_another_projects_network_and_port_cannot_be_found(calt: Any, qdemo: httpx.Client, image: str,
                                                           net: dict[str, Any]) -> None:
    theirs = boot(calt, image, [{"uuid": net["id"]}])
    assert theirs.status_code == 400 and message(theirs) == f"Network {net['id']} could not be found."
    made = qdemo.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}).json()["port"]
    stolen = boot(calt, image, [{"port": made["id"]}])
    assert stolen.status_code == 400 and message(stolen) == f"Port id {made['id']} could not be found."
    assert port(qdemo, made["id"]).json()["port"]["device_id"] == ""  # untouched
    unknown = str(uuid.uuid4())
    missing = boot(calt, image, [{"uuid": unknown}])
    assert missing.status_code == 400 and message(missing) == f"Network {unknown} could not be found."
    assert qdemo.delete(f"/v2.0/ports/{made['id']}").status_code == 204


def test_security_groups_by_name(cdemo: Any, qdemo: httpx.Client, qadmin: httpx.Client, image: str,
                                 net: dict[str, Any]) -> None:
    group = qdemo.post("/v2.0/security-groups", json={"security_group": {"name": uniq("sg")}}).json()["security_group"]
    sid = booted(cdemo, image, [{"uuid": net["id"]}], security_groups=[{"name": group["name"]}])
    [p] = ports_of(qadmin, sid)
    assert p["security_groups"] == [group["id"]]
    delete(cdemo, sid)
    plain = booted(cdemo, image, [{"uuid": net["id"]}])
    default = qdemo.get("/v2.0/security-groups", params={"name": "default",
                                                         "project_id": cdemo.current_project_id}).json()
    assert ports_of(qadmin, plain)[0]["security_groups"] == [default["security_groups"][0]["id"]]
    delete(cdemo, plain)
    unknown = boot(cdemo, image, [{"uuid": net["id"]}], security_groups=[{"name": "no-such-group"}])
    assert unknown.status_code == 400 and message(unknown) == "Security group no-such-group not found."
    assert qdemo.delete(f"/v2.0/security-groups/{group['id']}").status_code == 204


def test_network_changed_refreshes_the_addresses(cdemo: Any, cadmin: Any, qadmin: httpx.Client, image: str,
                                                  net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    [p] = ports_of(qadmin, sid)
    ips = [*p["fixed_ips"], {"subnet_id": net["subnet"]["id"], "ip_address": "10.77.0.99"}]
    assert qadmin.put(f"/v2.0/ports/{p['id']}", json={"port": {"fixed_ips": ips}}).status_code == 200
    event = {"name": "network-changed", "server_uuid": sid, "tag": p["id"]}
    resp = call(cadmin, "POST", "/os-server-external-events", body={"events": [event]})
    assert resp.status_code == 200 and resp.json()["events"][0]["code"] == 200
    wait_until(lambda: "10.77.0.99" in [a["addr"] for a in show(cdemo, sid)["addresses"][net["name"]]],
               timeout=30, what="the new address in the server's addresses")
    delete(cdemo, sid)


# --- interfaces ---------------------------------------------------------------------------------

def test_attach_and_detach_an_interface(cdemo: Any, cadmin: Any, qadmin: httpx.Client, image: str,
                                        net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    host = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    [first] = ports_of(qadmin, sid)
    listed = call(cdemo, "GET", f"/servers/{sid}/os-interface")
    assert listed.status_code == 200
    assert [(i["port_id"], i["net_id"], i["mac_addr"]) for i in listed.json()["interfaceAttachments"]] == \
        [(first["id"], net["id"], first["mac_address"])]
    resp = call(cdemo, "POST", f"/servers/{sid}/os-interface", mv="2.49",
                body={"interfaceAttachment": {"net_id": net["id"], "fixed_ips": [{"ip_address": "10.77.0.77"}],
                                              "tag": "second"}})
    assert resp.status_code == 200, resp.text
    att = resp.json()["interfaceAttachment"]
    assert att["net_id"] == net["id"] and att["fixed_ips"][0]["ip_address"] == "10.77.0.77"
    added = port(qadmin, att["port_id"]).json()["port"]
    assert (added["device_id"], added["binding:host_id"]) == (sid, host)
    shown = call(cdemo, "GET", f"/servers/{sid}/os-interface/{att['port_id']}", mv="2.70")
    assert shown.status_code == 200 and shown.json()["interfaceAttachment"]["tag"] == "second"
    addrs = [a["addr"] for a in show(cdemo, sid)["addresses"][net["name"]]]
    assert "10.77.0.77" in addrs and len(addrs) == 2
    # The driver was told: the simulated guest's console shows the hot-plug.
    console = call(cdemo, "POST", f"/servers/{sid}/action", body={"os-getConsoleOutput": {}})
    assert f"interface {added['mac_address']} attached" in console.json()["output"]
    busy = call(cdemo, "POST", f"/servers/{sid}/os-interface",
                body={"interfaceAttachment": {"net_id": net["id"], "fixed_ips": [{"ip_address": "10.77.0.77"}]}})
    assert busy.status_code == 409
    both = call(cdemo, "POST", f"/servers/{sid}/os-interface",
                body={"interfaceAttachment": {"net_id": net["id"], "port_id": first["id"]}})
    assert both.status_code == 400 and message(both) == "Must not input both network_id and port_id"
    gone = call(cdemo, "DELETE", f"/servers/{sid}/os-interface/{att['port_id']}")
    assert gone.status_code == 202
    assert port(qadmin, att["port_id"]).status_code == 404
    assert [a["addr"] for a in show(cdemo, sid)["addresses"][net["name"]]] == \
        [first["fixed_ips"][0]["ip_address"]]
    again = call(cdemo, "DELETE", f"/servers/{sid}/os-interface/{att['port_id']}")
    assert again.status_code == 404
    other = call(cdemo, "GET", f"/servers/{sid}/os-interface/{uuid.uuid4()}")
    assert other.status_code == 404
    delete(cdemo, sid)


def test_attach_the_users_port_keeps_it_after_delete(cdemo: Any, calt: Any, qdemo: httpx.Client,
                                                     qadmin: httpx.Client, image: str, net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, "none")
    made = qdemo.post("/v2.0/ports", json={"port": {"network_id": net["id"]}}).json()["port"]
    # Another project sees neither the server nor the port.
    assert call(calt, "GET", f"/servers/{sid}/os-interface").status_code == 404
    theirs = booted(calt, image, "none")
    stolen = call(calt, "POST", f"/servers/{theirs}/os-interface", body={"interfaceAttachment": {"port_id": made["id"]}})
    assert stolen.status_code == 404 and message(stolen) == f"Port id {made['id']} could not be found."
    resp = call(cdemo, "POST", f"/servers/{sid}/os-interface", body={"interfaceAttachment": {"port_id": made["id"]}})
    assert resp.status_code == 200, resp.text
    assert resp.json()["interfaceAttachment"]["port_id"] == made["id"]
    assert list(show(cdemo, sid)["addresses"]) == [net["name"]]
    many = boot(cdemo, image, [{"port": made["id"]}], min_count=2)
    assert many.status_code == 400
    delete(cdemo, sid)
    kept = port(qadmin, made["id"]).json()["port"]
    assert (kept["device_id"], kept["device_owner"], kept["binding:host_id"]) == ("", "", "")
    delete(calt, theirs)
    assert qdemo.delete(f"/v2.0/ports/{made['id']}").status_code == 204


# --- moves --------------------------------------------------------------------------------------

def test_cold_migration_rebinds_the_port(cdemo: Any, cadmin: Any, qadmin: httpx.Client, image: str,
                                         net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    source = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    [p] = ports_of(qadmin, sid)
    assert p["binding:host_id"] == source
    resp = call(cadmin, "POST", f"/servers/{sid}/action", body={"migrate": None})
    assert resp.status_code == 202, resp.text
    wait_until(lambda: show(cadmin, sid)["status"] == "VERIFY_RESIZE", timeout=60, what="VERIFY_RESIZE")
    dest = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    assert dest != source
    assert port(qadmin, p["id"]).json()["port"]["binding:host_id"] == dest
    call(cadmin, "POST", f"/servers/{sid}/action", body={"confirmResize": None})
    active(cdemo, sid)
    assert show(cdemo, sid)["addresses"][net["name"]][0]["addr"] == p["fixed_ips"][0]["ip_address"]
    # A migration reverted: the port goes back to where the server is again.
    call(cadmin, "POST", f"/servers/{sid}/action", body={"migrate": None})
    wait_until(lambda: show(cadmin, sid)["status"] == "VERIFY_RESIZE", timeout=60, what="VERIFY_RESIZE")
    assert port(qadmin, p["id"]).json()["port"]["binding:host_id"] == source
    call(cadmin, "POST", f"/servers/{sid}/action", body={"revertResize": None})
    active(cdemo, sid)
    assert show(cadmin, sid)["OS-EXT-SRV-ATTR:host"] == dest
    assert port(qadmin, p["id"]).json()["port"]["binding:host_id"] == dest
    delete(cdemo, sid)


def test_live_migration_rebinds_the_port(cdemo: Any, cadmin: Any, qadmin: httpx.Client, image: str,
                                         net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    source = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    [p] = ports_of(qadmin, sid)
    resp = call(cadmin, "POST", f"/servers/{sid}/action", mv="2.30",
                body={"os-migrateLive": {"host": None, "block_migration": "auto"}})
    assert resp.status_code == 202, resp.text
    wait_until(lambda: (s := show(cadmin, sid))["status"] == "ACTIVE" and s["OS-EXT-SRV-ATTR:host"] != source,
               timeout=60, what="the server on the other host")
    dest = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    assert port(qadmin, p["id"]).json()["port"]["binding:host_id"] == dest
    delete(cdemo, sid)


def test_shelve_offload_unbinds_and_unshelve_binds_again(cdemo: Any, cadmin: Any, qadmin: httpx.Client,
                                                         image: str, net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    [p] = ports_of(qadmin, sid)
    call(cdemo, "POST", f"/servers/{sid}/action", body={"shelve": None})
    wait_until(lambda: show(cdemo, sid)["status"] == "SHELVED_OFFLOADED", timeout=60, what="offloaded")
    assert not port(qadmin, p["id"]).json()["port"]["binding:host_id"]
    call(cdemo, "POST", f"/servers/{sid}/action", body={"unshelve": None})
    active(cdemo, sid)
    assert port(qadmin, p["id"]).json()["port"]["binding:host_id"] == show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    assert [x["id"] for x in ports_of(qadmin, sid)] == [p["id"]]  # the same port, not a new one
    # Deleted while offloaded: no host's agent does it, the API frees the port (Nova's local delete).
    call(cdemo, "POST", f"/servers/{sid}/action", body={"shelve": None})
    wait_until(lambda: show(cdemo, sid)["status"] == "SHELVED_OFFLOADED", timeout=60, what="offloaded again")
    delete(cdemo, sid)
    assert port(qadmin, p["id"]).status_code == 404


# --- clients ------------------------------------------------------------------------------------

def test_sdk_cloud_layer_create_server_with_network_has_an_address(cdemo: Any, image: str,
                                                                    net: dict[str, Any]) -> None:
    """What Ansible's openstack.cloud.server calls."""
    server = cdemo.create_server(uniq("ansible"), image=image, flavor="m1.tiny", network=net["name"], wait=True,
                                 timeout=60)
    try:
        assert server.status == "ACTIVE"
        assert server.addresses[net["name"]][0]["addr"].startswith("10.77.0.")
        assert server.private_v4.startswith("10.77.0.")
    finally:
        cdemo.delete_server(server.id, wait=True, timeout=60)


def test_cli_adds_and_removes_a_network_and_a_port(ccloud: RunningCloud, cdemo: Any, qdemo: httpx.Client,
                                                   qadmin: httpx.Client, image: str, net: dict[str, Any]) -> None:
    """openstack server add/remove network and port: os-interface as openstackclient drives it."""
    sid = booted(cdemo, image, "none")
    ccloud.cli("server", "add", "network", sid, net["name"], cloud="devstack", json_out=False)
    [added] = ports_of(qadmin, sid)
    assert list(show(cdemo, sid)["addresses"]) == [net["name"]]
    ccloud.cli("server", "remove", "network", sid, net["name"], cloud="devstack", json_out=False)
    assert ports_of(qadmin, sid) == [] and port(qadmin, added["id"]).status_code == 404
    made = qdemo.post("/v2.0/ports", json={"port": {"network_id": net["id"], "name": uniq("p")}}).json()["port"]
    ccloud.cli("server", "add", "port", sid, made["id"], cloud="devstack", json_out=False)
    assert [p["id"] for p in ports_of(qadmin, sid)] == [made["id"]]
    ccloud.cli("server", "remove", "port", sid, made["id"], cloud="devstack", json_out=False)
    assert port(qadmin, made["id"]).json()["port"]["device_id"] == ""  # the user's port is kept
    delete(cdemo, sid)
    assert qdemo.delete(f"/v2.0/ports/{made['id']}").status_code == 204


def test_evacuation_rebinds_the_port(cdemo: Any, cadmin: Any, qadmin: httpx.Client, image: str,
                                     net: dict[str, Any]) -> None:
    """Last in the module: its host stays forced down (as Nova, until that host's agent restarts)."""
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    source = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    [p] = ports_of(qadmin, sid)
    services = call(cadmin, "GET", f"/os-services?host={source}&binary=nova-compute", "2.53").json()["services"]
    assert call(cadmin, "PUT", f"/os-services/{services[0]['id']}", "2.53", {"forced_down": True}).status_code == 200
    resp = call(cadmin, "POST", f"/servers/{sid}/action", "2.29", {"evacuate": {}})
    assert resp.status_code == 200, resp.text
    wait_until(lambda: (s := show(cadmin, sid))["status"] == "ACTIVE" and s["OS-EXT-SRV-ATTR:host"] != source,
               timeout=60, what="the server rebuilt on the other host")
    dest = show(cadmin, sid)["OS-EXT-SRV-ATTR:host"]
    assert port(qadmin, p["id"]).json()["port"]["binding:host_id"] == dest
    assert [x["id"] for x in ports_of(qadmin, sid)] == [p["id"]]  # the same port, bound to its new host
    delete(cdemo, sid)


# --- what Tempest found once servers had networks ----------------------------------------------

def test_rebuild_and_update_answers_show_plain_addresses_before_2_75(cdemo: Any, image: str,
                                                                     net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"], "fixed_ip": "10.77.0.71"}])
    plain = {net["name"]: [{"version": 4, "addr": "10.77.0.71"}]}
    resp = call(cdemo, "POST", f"/servers/{sid}/action", mv="2.1", body={"rebuild": {"imageRef": image}})
    assert resp.status_code == 202, resp.text
    assert resp.json()["server"]["addresses"] == plain  # Nova's rebuild view: no OS-EXT-IPS
    active(cdemo, sid)
    updated = call(cdemo, "PUT", f"/servers/{sid}", mv="2.1", body={"server": {"name": uniq("srv")}})
    assert updated.status_code == 200 and updated.json()["server"]["addresses"] == plain
    # From 2.75 both answers are GET's view, extended addresses included.
    resp = call(cdemo, "POST", f"/servers/{sid}/action", mv="2.75", body={"rebuild": {"imageRef": image}})
    assert resp.status_code == 202, resp.text
    [entry] = resp.json()["server"]["addresses"][net["name"]]
    assert entry["OS-EXT-IPS:type"] == "fixed" and entry["OS-EXT-IPS-MAC:mac_addr"]
    assert show(cdemo, sid)["addresses"][net["name"]][0]["OS-EXT-IPS:type"] == "fixed"
    active(cdemo, sid)
    delete(cdemo, sid)


def test_list_filters_by_ip_regex(cdemo: Any, calt: Any, image: str, net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"], "fixed_ip": "10.77.0.72"}])
    other = booted(cdemo, image, "none")

    def listed(params: str, conn: Any = cdemo, mv: str = "2.1") -> list[str]:
        resp = call(conn, "GET", f"/servers?{params}", mv=mv)
        assert resp.status_code == 200, resp.text
        return [s["id"] for s in resp.json()["servers"]]

    assert listed("ip=10.77.0.72") == [sid]
    assert listed("ip=10.77.0.7") == [sid]  # a regular expression, matched from the start (re.match)
    assert listed("ip=^10%5C.77%5C.0%5C.72$") == [sid]
    assert listed("ip=77.0.72") == []
    assert listed("ip=10.77.0.73") == []
    assert listed("ip6=10.77.0.72", mv="2.5") == []  # ip6 matches IPv6 addresses only
    assert sid in listed("name=srv&ip=10.77")  # with other filters
    assert other not in listed("ip=10")
    assert listed("ip=10.77.0.72", conn=calt) == []  # another project's server stays hidden
    assert call(cdemo, "GET", "/servers?ip=(", mv="2.1").status_code == 400
    detail = call(cdemo, "GET", "/servers/detail?ip=10.77.0.72&limit=1", mv="2.1")
    assert [s["id"] for s in detail.json()["servers"]] == [sid]
    delete(cdemo, sid)
    delete(cdemo, other)


def test_compute_answers_carry_x_compute_request_id(cdemo: Any, qdemo: httpx.Client) -> None:
    for resp in (call(cdemo, "GET", "/servers"), call(cdemo, "GET", f"/servers/{uuid.uuid4()}"),
                 call(cdemo, "GET", "/flavors", mv="9.99")):
        rid = resp.headers["x-openstack-request-id"]
        assert rid.startswith("req-") and resp.headers["x-compute-request-id"] == rid
    assert call(cdemo, "GET", f"/servers/{uuid.uuid4()}").status_code == 404
    assert call(cdemo, "GET", "/flavors", mv="9.99").status_code == 406
    assert "x-compute-request-id" not in qdemo.get("/v2.0/networks").headers  # compute's header only


def test_inject_network_info_refreshes_the_info_cache(cdemo: Any, cadmin: Any, qadmin: httpx.Client,
                                                      image: str, net: dict[str, Any]) -> None:
    sid = booted(cdemo, image, [{"uuid": net["id"]}])
    refused = call(cdemo, "POST", f"/servers/{sid}/action", body={"injectNetworkInfo": None})
    assert refused.status_code == 403, refused.text  # an admin's action
    missing = call(cadmin, "POST", f"/servers/{uuid.uuid4()}/action", body={"injectNetworkInfo": None})
    assert missing.status_code == 404
    [p] = ports_of(qadmin, sid)
    ips = [*p["fixed_ips"], {"subnet_id": net["subnet"]["id"], "ip_address": "10.77.0.98"}]
    assert qadmin.put(f"/v2.0/ports/{p['id']}", json={"port": {"fixed_ips": ips}}).status_code == 200
    resp = call(cadmin, "POST", f"/servers/{sid}/action", body={"injectNetworkInfo": None})
    assert resp.status_code == 202 and resp.content == b"", resp.text
    wait_until(lambda: "10.77.0.98" in [a["addr"] for a in show(cdemo, sid)["addresses"][net["name"]]],
               timeout=30, what="the new address in the server's addresses")
    delete(cdemo, sid)
