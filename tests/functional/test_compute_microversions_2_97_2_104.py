"""Compute microversions 2.97 to 2.104, each at its version and the one below.

2.97 server shares (no share can be attached here), 2.98 image properties in the server's
``image``, 2.99 the ``spice-direct`` console type, 2.100 the server's scheduler hints, 2.101
an attach answered 202 without a body, 2.102 flavors without ``rxtx_factor`` and
``OS-FLV-DISABLED:disabled`` (a ``name`` filter, strict query strings), 2.103 no
``/os-volumes_boot``, 2.104 ``pinned_availability_zone`` updated by PUT. Raw HTTP with
``OpenStack-API-Version``, and openstacksdk where it negotiates these versions.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from onestack.compute.image_meta import SHOWN
from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import act, call, message, module_cloud
from tests.functional.volume_support import cinder, create_volume, wait_volume

IMAGE = "onestack-tiny-x86_64-disk"
IMAGE_ALT = "onestack-tiny-x86_64-disk-alt"

ccloud = module_cloud("compute-mv-2-104")


def uniq(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def boot(conn: Any, image: str, mv: str = "2.96", hints: dict[str, Any] | None = None, **server: Any) -> str:
    body: dict[str, Any] = {"server": {"name": uniq("mv"), "flavorRef": "1", "imageRef": image,
                                       "networks": "none", **server}}
    if hints is not None:
        body["os:scheduler_hints"] = hints
    resp = call(conn, "POST", "/servers", mv, body)
    assert resp.status_code == 202, resp.text
    sid = str(resp.json()["server"]["id"])
    wait_status(conn, sid, "ACTIVE")
    return sid


def show(conn: Any, sid: str, mv: str) -> dict[str, Any]:
    resp = call(conn, "GET", f"/servers/{sid}", mv)
    assert resp.status_code == 200, resp.text
    return resp.json()["server"]  # type: ignore[no-any-return]


def wait_status(conn: Any, sid: str, status: str) -> None:
    def reached() -> bool:
        now = show(conn, sid, "2.1")["status"]
        assert now != "ERROR" or status == "ERROR", now
        return bool(now == status)
    wait_until(reached, timeout=60, what=f"server {sid} {status}")


def listed(conn: Any, sid: str, mv: str) -> dict[str, Any]:
    resp = call(conn, "GET", "/servers/detail", mv)
    assert resp.status_code == 200, resp.text
    return next(s for s in resp.json()["servers"] if s["id"] == sid)


@pytest.fixture(scope="module")
def images(cadmin: Any) -> dict[str, str]:
    return {name: cadmin.image.find_image(name, ignore_missing=False).id for name in (IMAGE, IMAGE_ALT)}


@pytest.fixture(scope="module")
def propped_image(cadmin: Any, images: dict[str, str]) -> str:
    """The alt image (in this module's own cloud) with two properties Nova knows and one it does not."""
    image_id = images[IMAGE_ALT]
    patch = [{"op": "add", "path": "/os_distro", "value": "cirros"},
             {"op": "add", "path": "/hw_rng_model", "value": "virtio"},
             {"op": "add", "path": "/onestack_custom", "value": "not-shown"}]
    resp = cadmin.session.request(f"/v2/images/{image_id}", "PATCH", data=json.dumps(patch), raise_exc=False,
                                  headers={"Content-Type": "application/openstack-images-v2.1-json-patch"},
                                  endpoint_filter={"service_type": "image"})
    assert resp.status_code == 200, resp.text
    return image_id


@pytest.fixture(scope="module")
def server(cdemo: Any, images: dict[str, str]) -> str:
    """A server booted from the tiny image, pinned to zone nova, with two scheduler hints."""
    return boot(cdemo, images[IMAGE], availability_zone="nova",
                hints={"same_host": [], "build_near_host_ip": "192.0.2.1", "cidr": "/24"})


# --- version discovery ---------------------------------------------------------------------------

def test_version_document_and_latest(cdemo: Any) -> None:
    doc = call(cdemo, "GET", "/", "2.1").json()["version"]  # the endpoint is /v2.1: its own document
    assert (doc["id"], doc["version"], doc["min_version"]) == ("v2.1", "2.104", "2.1")
    resp = call(cdemo, "GET", "/flavors", "latest")
    assert resp.headers["OpenStack-API-Version"] == "compute 2.104"
    too_new = call(cdemo, "GET", "/flavors", "2.105")
    assert too_new.status_code == 406
    assert "maximum is 2.104" in message(too_new)


# --- 2.97 shares -------------------------------------------------------------------------------

def test_shares_2_97(cdemo: Any, images: dict[str, str]) -> None:
    sid = boot(cdemo, images[IMAGE])
    base = f"/servers/{sid}/shares"
    share_id = str(uuid.uuid4())
    assert call(cdemo, "GET", base, "2.96").status_code == 404
    listing = call(cdemo, "GET", base, "2.97")
    assert listing.status_code == 200 and listing.json() == {"shares": []}
    assert call(cdemo, "GET", base + "?all=1", "2.97").status_code == 400
    missing = call(cdemo, "GET", f"{base}/{share_id}", "2.97")
    assert missing.status_code == 404 and message(missing) == f"Share {share_id} could not be found."
    body = {"share": {"share_id": share_id, "tag": "data"}}
    assert call(cdemo, "POST", base, "2.97", {"share": {"share_id": "nope"}}).status_code == 400
    assert call(cdemo, "POST", base, "2.97", {"share": {"share_id": share_id, "tag": "a b"}}).status_code == 400
    assert call(cdemo, "POST", base, "2.97", {"share": {"tag": "x"}}).status_code == 400
    running = call(cdemo, "POST", base, "2.97", body)
    assert running.status_code == 409
    assert message(running) == f"Cannot 'create share' instance {sid} while it is in vm_state active"
    busy = call(cdemo, "DELETE", f"{base}/{share_id}", "2.97")
    assert busy.status_code == 409 and "delete share" in message(busy)
    assert call(cdemo, "POST", base, "2.97", {"share": {"share_id": share_id}}).status_code == 409
    assert act(cdemo, sid, {"os-stop": None}, "2.97").status_code == 202
    wait_status(cdemo, sid, "SHUTOFF")
    stopped = call(cdemo, "POST", base, "2.97", body)
    assert stopped.status_code == 409 and "not configured correctly" in message(stopped)
    assert call(cdemo, "DELETE", f"{base}/{share_id}", "2.97").status_code == 404
    assert call(cdemo, "GET", f"/servers/{uuid.uuid4()}/shares", "2.97").status_code == 404


# --- 2.98 image properties, 2.100 scheduler hints ----------------------------------------------

def test_image_properties_2_98(cdemo: Any, propped_image: str) -> None:
    sid = boot(cdemo, propped_image)
    assert "properties" not in show(cdemo, sid, "2.97")["image"]
    props = show(cdemo, sid, "2.98")["image"]["properties"]
    assert props["os_distro"] == "cirros" and props["hw_rng_model"] == "virtio"
    assert "onestack_custom" not in props and set(props) <= SHOWN
    assert listed(cdemo, sid, "2.98")["image"]["properties"] == props
    assert "properties" not in listed(cdemo, sid, "2.97")["image"]
    updated = call(cdemo, "PUT", f"/servers/{sid}", "2.98", {"server": {"name": uniq("renamed")}})
    assert updated.status_code == 200 and updated.json()["server"]["image"]["properties"] == props
    rebuilt = act(cdemo, sid, {"rebuild": {"imageRef": propped_image}}, "2.98")
    assert rebuilt.status_code == 202 and rebuilt.json()["server"]["image"]["properties"] == props
    wait_status(cdemo, sid, "ACTIVE")


def test_image_properties_present_without_any_2_98(cdemo: Any, server: str) -> None:
    # an image-backed server always carries the key at 2.98, even when no property is known
    image = show(cdemo, server, "2.98")["image"]
    assert isinstance(image["properties"], dict) and set(image["properties"]) <= SHOWN


def test_scheduler_hints_2_100(cdemo: Any, images: dict[str, str], server: str) -> None:
    expected = {"same_host": [], "build_near_host_ip": ["192.0.2.1"], "cidr": ["/24"]}
    assert "scheduler_hints" not in show(cdemo, server, "2.99")
    assert show(cdemo, server, "2.100")["scheduler_hints"] == expected
    assert listed(cdemo, server, "2.100")["scheduler_hints"] == expected
    assert "scheduler_hints" not in listed(cdemo, server, "2.99")
    updated = call(cdemo, "PUT", f"/servers/{server}", "2.100", {"server": {"description": "d"}})
    assert updated.status_code == 200 and updated.json()["server"]["scheduler_hints"] == expected
    # a group hint is shown as Nova's request spec keeps every hint: a list
    group = call(cdemo, "POST", "/os-server-groups", "2.64",
                 {"server_group": {"name": uniq("g"), "policy": "affinity"}}).json()["server_group"]["id"]
    grouped = boot(cdemo, images[IMAGE], hints={"group": group})
    assert show(cdemo, grouped, "2.104")["scheduler_hints"] == {"group": [group]}
    plain = boot(cdemo, images[IMAGE])
    assert show(cdemo, plain, "2.100")["scheduler_hints"] == {}


def test_sdk_reads_a_server_at_its_newest_version(cdemo: Any, server: str) -> None:
    """openstacksdk's Server negotiates up to 2.100: the pinned zone and the image come through."""
    found = cdemo.compute.get_server(server)
    assert found.pinned_availability_zone == "nova"
    assert isinstance(found.image["properties"], dict)


# --- 2.99 spice-direct ---------------------------------------------------------------------------

def test_spice_direct_2_99(cdemo: Any, server: str) -> None:
    body = {"remote_console": {"protocol": "spice", "type": "spice-direct"}}
    before = call(cdemo, "POST", f"/servers/{server}/remote-consoles", "2.98", body)
    assert before.status_code == 400 and "is not one of" in message(before)
    # accepted from 2.99; the hosts serve no SPICE consoles, as a Nova with spice disabled
    at = call(cdemo, "POST", f"/servers/{server}/remote-consoles", "2.99", body)
    assert at.status_code == 400 and message(at) == "Unavailable console type spice-direct."


# --- 2.101 attach answered 202 -----------------------------------------------------------------

def test_attach_volume_2_101(ccloud: RunningCloud, cdemo: Any, server: str) -> None:
    vol: httpx.Client = cinder(ccloud, "devstack")
    first = wait_volume(vol, create_volume(vol, 1, name=uniq("v"))["id"])
    second = wait_volume(vol, create_volume(vol, 1, name=uniq("v"))["id"])
    base = f"/servers/{server}/os-volume_attachments"
    old = call(cdemo, "POST", base, "2.100", {"volumeAttachment": {"volumeId": first["id"]}})
    assert old.status_code == 200 and old.json()["volumeAttachment"]["volumeId"] == first["id"]
    new = call(cdemo, "POST", base, "2.101", {"volumeAttachment": {"volumeId": second["id"]}})
    assert new.status_code == 202 and new.content == b""
    wait_volume(vol, second["id"], "in-use")
    attached = call(cdemo, "GET", base, "2.101").json()["volumeAttachments"]
    assert {a["volumeId"] for a in attached} == {first["id"], second["id"]}
    for volume in (first, second):
        assert call(cdemo, "DELETE", f"{base}/{volume['id']}", "2.101").status_code == 202
        wait_volume(vol, volume["id"], "available")


# --- 2.102 flavors ---------------------------------------------------------------------------------

def test_flavors_2_102(cadmin: Any, cdemo: Any) -> None:
    old = call(cdemo, "GET", "/flavors/detail", "2.101").json()["flavors"]
    assert all("rxtx_factor" in f and "OS-FLV-DISABLED:disabled" in f for f in old)
    new = call(cdemo, "GET", "/flavors/detail", "2.102").json()["flavors"]
    assert new and all("rxtx_factor" not in f and "OS-FLV-DISABLED:disabled" not in f for f in new)
    shown = call(cdemo, "GET", "/flavors/1", "2.102").json()["flavor"]
    assert "rxtx_factor" not in shown and "OS-FLV-DISABLED:disabled" not in shown
    assert "rxtx_factor" in call(cdemo, "GET", "/flavors/1", "2.101").json()["flavor"]
    # the name filter (a regular expression, as Nova's REGEXP) from 2.102; unknown before (400 since 2.75)
    named = call(cdemo, "GET", "/flavors?name=^m1\\.tiny$", "2.102")
    assert named.status_code == 200 and [f["name"] for f in named.json()["flavors"]] == ["m1.tiny"]
    assert {f["name"] for f in call(cdemo, "GET", "/flavors/detail?name=tiny", "2.102").json()["flavors"]} >= \
        {"m1.tiny"}
    assert call(cdemo, "GET", "/flavors?name=zzz-none", "2.102").json()["flavors"] == []
    assert call(cdemo, "GET", "/flavors?name=m1.tiny", "2.101").status_code == 400
    assert call(cdemo, "GET", "/flavors?name=m1.tiny", "2.74").status_code == 200
    # rxtx_factor: no longer a sort key nor a create field; every unknown parameter is refused
    assert call(cdemo, "GET", "/flavors?sort_key=rxtx_factor", "2.101").status_code == 200
    assert call(cdemo, "GET", "/flavors?sort_key=rxtx_factor", "2.102").status_code == 400
    assert call(cdemo, "GET", "/flavors/1?foo=1", "2.101").status_code == 200
    assert call(cdemo, "GET", "/flavors/1?foo=1", "2.102").status_code == 400
    flavor = {"name": uniq("fl"), "ram": 64, "vcpus": 1, "disk": 1, "rxtx_factor": 2.0}
    refused = call(cadmin, "POST", "/flavors", "2.102", {"flavor": flavor})
    assert refused.status_code == 400 and "rxtx_factor" in message(refused)
    made = call(cadmin, "POST", "/flavors", "2.101", {"flavor": flavor})
    assert made.status_code == 200 and made.json()["flavor"]["rxtx_factor"] == 2.0
    assert call(cadmin, "DELETE", f"/flavors/{made.json()['flavor']['id']}", "2.102").status_code == 202


def test_unknown_query_parameters_refused_from_2_102(cadmin: Any, cdemo: Any, server: str) -> None:
    """GETs whose query schema takes no parameters ignore any before 2.102 and refuse it since."""
    for conn, path in ((cdemo, f"/servers/{server}"), (cdemo, f"/servers/{server}/metadata"),
                       (cdemo, f"/servers/{server}/ips"), (cdemo, f"/servers/{server}/os-interface"),
                       (cdemo, "/os-availability-zone"), (cdemo, "/extensions"), (cdemo, "/flavors/1/os-extra_specs"),
                       (cadmin, "/os-aggregates"), (cadmin, f"/servers/{server}/diagnostics")):
        assert call(conn, "GET", path + "?foo=1", "2.101").status_code == 200, path
        refused = call(conn, "GET", path + "?foo=1", "2.102")
        assert refused.status_code == 400, (path, refused.text)
        assert "Additional properties are not allowed ('foo' was unexpected)" in message(refused)
        assert call(conn, "GET", path, "2.102").status_code == 200, path


def test_sdk_and_flavors(cdemo: Any) -> None:
    """openstacksdk's flavors (up to 2.61) keep their fields."""
    tiny = cdemo.compute.find_flavor("m1.tiny", ignore_missing=False)
    assert tiny.rxtx_factor == 1.0 and tiny.is_disabled is False


# --- 2.103 os-volumes_boot -------------------------------------------------------------------------

def test_os_volumes_boot_gone_2_103(cdemo: Any) -> None:
    for mv in ("2.102", "2.103"):
        assert call(cdemo, "GET", "/os-volumes_boot", mv).status_code == 404


# --- 2.104 pinned availability zone ----------------------------------------------------------------

def test_pinned_availability_zone_update_2_104(cdemo: Any, images: dict[str, str]) -> None:
    sid = boot(cdemo, images[IMAGE], availability_zone="nova")
    path = f"/servers/{sid}"
    assert show(cdemo, sid, "2.104")["pinned_availability_zone"] == "nova"
    before = call(cdemo, "PUT", path, "2.103", {"server": {"pinned_availability_zone": None}})
    assert before.status_code == 400
    same = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": "nova"}})
    assert same.status_code == 200 and same.json()["server"]["pinned_availability_zone"] == "nova"
    other = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": "elsewhere"}})
    assert other.status_code == 409 and "Unpin first" in message(other)
    bad = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": " x"}})
    assert bad.status_code == 400
    unpinned = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": None, "name": "u"}})
    assert unpinned.status_code == 200
    assert unpinned.json()["server"]["pinned_availability_zone"] is None
    assert unpinned.json()["server"]["name"] == "u"
    assert show(cdemo, sid, "2.96")["pinned_availability_zone"] is None
    again = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": None}})
    assert again.status_code == 200
    elsewhere = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": "elsewhere",
                                                               "name": "not-applied"}})
    assert elsewhere.status_code == 409
    assert message(elsewhere) == ("Server can only be pinned to its current availability zone 'nova', "
                                  "but 'elsewhere' was requested.")
    assert show(cdemo, sid, "2.104")["name"] == "u"
    zone = show(cdemo, sid, "2.104")["OS-EXT-AZ:availability_zone"]
    repinned = call(cdemo, "PUT", path, "2.104", {"server": {"pinned_availability_zone": zone}})
    assert repinned.status_code == 200 and repinned.json()["server"]["pinned_availability_zone"] == zone
    assert show(cdemo, sid, "2.104")["pinned_availability_zone"] == zone
