"""The network info cache: entries from Neutron ports, Nova's addresses view, preserved ports."""

from __future__ import annotations

from onestack.compute.network_info import (
    CACHE_KEY,
    PRESERVED_KEY,
    TAGS_KEY,
    addresses,
    cached,
    fixed_addresses,
    preserved_ports,
    requested,
    tags_of,
    vif_of,
)

PORT = {"id": "p1", "mac_address": "fa:16:3e:00:00:01", "network_id": "n1", "status": "ACTIVE",
        "fixed_ips": [{"subnet_id": "s4", "ip_address": "10.0.0.5"}, {"subnet_id": "s6", "ip_address": "fd00::5"}],
        "binding:host_id": "compute-1", "binding:vif_type": "ovs", "binding:vif_details": {"port_filter": True}}
FIP = {"port_id": "p1", "floating_ip_address": "172.24.4.10", "fixed_ip_address": "10.0.0.5"}


def test_vif_of_a_port() -> None:
    vif = vif_of(PORT, {"id": "n1", "name": "private"}, [FIP, {**FIP, "port_id": "other"}], False, "nic1")
    assert vif["network_name"] == "private" and vif["active"] and vif["host"] == "compute-1"
    assert [ip["version"] for ip in vif["fixed_ips"]] == [4, 6]
    assert vif["floating_ips"] == [("172.24.4.10", "10.0.0.5")]  # only this port's
    assert (vif["vif_type"], vif["tag"], vif["preserve_on_delete"]) == ("ovs", "nic1", False)


def test_vif_of_an_unbound_down_port_without_network() -> None:
    vif = vif_of({**PORT, "status": "DOWN", "binding:host_id": ""}, None, [], True)
    assert vif["network_name"] == "n1" and not vif["active"] and vif["host"] is None


def test_addresses_as_nova_shows_them() -> None:
    vif = vif_of(PORT, {"name": "private"}, [FIP], False)
    assert addresses([vif]) == {"private": [
        {"version": 4, "addr": "10.0.0.5", "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": PORT["mac_address"]},
        {"version": 6, "addr": "fd00::5", "OS-EXT-IPS:type": "fixed", "OS-EXT-IPS-MAC:mac_addr": PORT["mac_address"]},
        {"version": 4, "addr": "172.24.4.10", "OS-EXT-IPS:type": "floating",
         "OS-EXT-IPS-MAC:mac_addr": PORT["mac_address"]},
    ]}
    assert addresses([]) == {}


def test_plain_addresses_and_fixed_addresses() -> None:
    vif = vif_of(PORT, {"name": "private"}, [FIP], False)
    # The PUT and rebuild answers before 2.75: no type, no MAC (Nova's extend_address=False).
    assert addresses([vif], extended=False) == {"private": [
        {"version": 4, "addr": "10.0.0.5"}, {"version": 6, "addr": "fd00::5"}, {"version": 4, "addr": "172.24.4.10"}]}
    assert fixed_addresses([vif]) == [(4, "10.0.0.5"), (6, "fd00::5")]  # floating IPs are not fixed


def test_two_ports_on_one_network_share_its_label() -> None:
    a = vif_of(PORT, {"name": "private"}, [], False)
    b = vif_of({**PORT, "id": "p2", "fixed_ips": [{"subnet_id": "s4", "ip_address": "10.0.0.6"}]},
               {"name": "private"}, [], False)
    assert [e["addr"] for e in addresses([a, b])["private"]] == ["10.0.0.5", "fd00::5", "10.0.0.6"]


def test_requested_cached_and_preserved() -> None:
    row = {"system_metadata": {"networks": [{"uuid": "n1", "port": "p9"}, {"uuid": "n2"}],
                               CACHE_KEY: [{"id": "p3", "preserve_on_delete": True}, {"id": "p4"}]}}
    assert [n["uuid"] for n in requested(row)] == ["n1", "n2"]
    assert [v["id"] for v in cached(row)] == ["p3", "p4"]
    assert preserved_ports(row) == {"p9", "p3"}
    assert requested({"system_metadata": {"networks": "none"}}) == []
    assert cached({"system_metadata": None}) == [] and preserved_ports({}) == set()


def test_tags_and_attached_ports_kept_apart_from_the_cache() -> None:
    row = {"system_metadata": {"networks": [{"uuid": "n1", "port": "p9", "tag": "boot"}],
                               TAGS_KEY: {"p5": "hot", "p6": None}, PRESERVED_KEY: ["p5"]}}
    assert tags_of(row) == {"p9": "boot", "p5": "hot", "p6": None}
    assert preserved_ports(row) == {"p9", "p5"}
