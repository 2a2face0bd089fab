"""A one-host cloud's compute host and central services carry the machine's host name, as a
DevStack's do (Nova's ``host`` defaults to ``socket.gethostname()``); ``[compute] host_name`` and
``[server] host_name`` pin them; the name is recorded in the data dir at the first start and kept,
so a machine renamed under an existing data dir keeps its services and servers."""

from __future__ import annotations

import socket
from pathlib import Path
from typing import Any

from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.compute_support import act, boot_bare, call

MV = "2.87"


def wait_status(conn: Any, sid: str, status: str) -> dict[str, Any]:
    def reached() -> dict[str, Any] | None:
        server: dict[str, Any] = call(conn, "GET", f"/servers/{sid}", MV).json()["server"]
        assert server["status"] != "ERROR", server.get("fault")
        return server if server["status"] == status else None

    return dict(wait_until(reached, timeout=30, what=f"server {sid} {status}"))


def delete(conn: Any, sid: str) -> None:
    assert call(conn, "DELETE", f"/servers/{sid}").status_code == 204
    wait_until(lambda: call(conn, "GET", f"/servers/{sid}").status_code == 404, timeout=30, what="server gone")


def service_hosts(conn: Any) -> set[tuple[str, str]]:
    return {(s["binary"], s["host"]) for s in call(conn, "GET", "/os-services").json()["services"]}


def test_a_default_one_host_cloud_is_named_after_the_machine(cloud: RunningCloud, admin: Any) -> None:
    machine = socket.gethostname()
    assert (cloud.data_dir / "host-name").read_text().strip() == machine
    services = {(r["Binary"], r["Host"]) for r in cloud.cli("compute", "service", "list")}
    assert services == {("nova-conductor", machine), ("nova-scheduler", machine), ("nova-compute", machine)}
    assert [h["Hypervisor Hostname"] for h in cloud.cli("hypervisor", "list")] == [machine]
    hosts = {(h["Host Name"], h["Service"], h["Zone"]) for h in cloud.cli("host", "list")}
    assert hosts == {(machine, "compute", "nova"), (machine, "conductor", "internal"),
                     (machine, "scheduler", "internal")}
    zones = {(z["Zone Name"], z["Host Name"], z["Service Name"])
             for z in cloud.cli("availability", "zone", "list", "--compute", "--long")}
    assert zones == {("nova", machine, "nova-compute"), ("internal", machine, "nova-conductor"),
                     ("internal", machine, "nova-scheduler")}
    sid = boot_bare(admin, "hn-default")
    try:
        shown = cloud.cli("server", "show", sid)
        assert shown["OS-EXT-SRV-ATTR:host"] == machine
        assert shown["OS-EXT-SRV-ATTR:hypervisor_hostname"] == machine
        assert (cloud.data_dir / "compute" / machine / "guests").is_dir()
    finally:
        delete(admin, sid)


def test_the_config_keys_pin_the_names(tmp_path: Path) -> None:
    cloud = make_cloud(tmp_path, {"ONESTACK_COMPUTE__HOST_NAME": "pinned-box",
                                  "ONESTACK_SERVER__HOST_NAME": "central-box",
                                  "ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false"})
    try:
        cloud.start()
        conn = cloud.sdk()
        assert service_hosts(conn) == {("nova-conductor", "central-box"), ("nova-scheduler", "central-box"),
                                       ("nova-compute", "pinned-box")}
        hypervisors = call(conn, "GET", "/os-hypervisors", MV).json()["hypervisors"]
        assert [h["hypervisor_hostname"] for h in hypervisors] == ["pinned-box"]
        volume = {s["binary"]: s["host"] for s in call(conn, "GET", "/os-services", service="block-storage")
                  .json()["services"]}
        assert volume["cinder-scheduler"] == "central-box"
    finally:
        cloud.close()


def test_a_renamed_machine_keeps_the_recorded_name(tmp_path: Path) -> None:
    """The data dir a first start on a machine then named ``old-box`` leaves: every later start,
    whatever the machine is called now, runs its services and host under that name."""
    cloud = make_cloud(tmp_path, {"ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false"})
    cloud.data_dir.mkdir(mode=0o700)
    (cloud.data_dir / "host-name").write_text("old-box\n")
    try:
        cloud.start()
        conn = cloud.sdk()
        expected = {("nova-conductor", "old-box"), ("nova-scheduler", "old-box"), ("nova-compute", "old-box")}
        assert service_hosts(conn) == expected
        sid = boot_bare(conn, "hn-renamed")
        cloud.stop()
        cloud.start()
        conn = cloud.sdk()
        # Nova would register a second nova-compute under the new name and orphan the server.
        assert service_hosts(conn) == expected
        assert (cloud.data_dir / "host-name").read_text() == "old-box\n"
        assert wait_status(conn, sid, "ACTIVE")["OS-EXT-SRV-ATTR:host"] == "old-box"
        assert act(conn, sid, {"os-stop": None}).status_code == 202
        assert wait_status(conn, sid, "SHUTOFF")["OS-EXT-SRV-ATTR:host"] == "old-box"
        delete(conn, sid)
    finally:
        cloud.close()
