"""Volume types on a running cloud: CRUD, visibility of private types, extra specs, access,
encryption and per-project default types, through raw HTTP and openstacksdk."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.volume_catalog_support import client, fault, project_of, unique
from tests.functional.volume_support import cinder, create_volume, wait_gone, wait_volume


@pytest.fixture(scope="module")
def adm(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud) as c:
        # Cinder refuses to delete the only type: keep one more around whatever bootstrap made.
        c.post("/types", json={"volume_type": {"name": unique("keeper")}}).raise_for_status()
        yield c


@pytest.fixture(scope="module")
def mem(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud, "devstack") as c:
        yield c


def _create(adm: httpx.Client, **fields: Any) -> dict[str, Any]:
    r = adm.post("/types", json={"volume_type": {"name": unique("vt"), **fields}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()["volume_type"]
    return body


def test_create_show_update_delete(adm: httpx.Client, mem: httpx.Client) -> None:
    t = _create(adm, description="fast", extra_specs={"volume_backend_name": "file-1", "multiattach": "<is> True"})
    assert set(t) == {"id", "name", "description", "is_public", "os-volume-type-access:is_public", "extra_specs"}
    assert t["is_public"] is True and t["extra_specs"]["volume_backend_name"] == "file-1"
    shown = adm.get(f"/types/{t['id']}").json()["volume_type"]
    assert shown["qos_specs_id"] is None and shown["description"] == "fast"
    # By name, as Cinder's get_by_name_or_id.
    assert adm.get(f"/types/{t['name']}").json()["volume_type"]["id"] == t["id"]
    # A member sees only the user-visible extra specs and no qos_specs_id.
    seen = mem.get(f"/types/{t['id']}").json()["volume_type"]
    assert seen["extra_specs"] == {"multiattach": "<is> True"} and "qos_specs_id" not in seen
    r = adm.put(f"/types/{t['id']}", json={"volume_type": {"description": "slow", "is_public": False}})
    assert r.status_code == 200, r.text
    updated = r.json()["volume_type"]
    assert updated["description"] == "slow" and updated["is_public"] is False
    assert "os-volume-type-access:is_public" not in updated
    assert adm.delete(f"/types/{t['id']}").status_code == 202
    msg = fault(adm.get(f"/types/{t['id']}"), "itemNotFound", 404)
    assert t["id"] in msg


def test_bad_input_changes_nothing(adm: httpx.Client, mem: httpx.Client) -> None:
    t = _create(adm)
    assert fault(adm.post("/types", json={"volume_type": {"name": t["name"]}}), "conflictingRequest", 409) \
        == f"Volume Type {t['name']} already exists."
    fault(adm.post("/types", json={"volume_type": {"name": ""}}), "badRequest", 400)
    fault(adm.post("/types", json={"volume_type": {"name": unique("x"), "bogus": 1}}), "badRequest", 400)
    fault(adm.post("/types", json={"volume_type": {"name": unique("x"), "extra_specs": {"bad key!": "v"}}}),
          "badRequest", 400)
    fault(adm.put(f"/types/{t['id']}", json={"volume_type": {}}), "badRequest", 400)
    # Members may not manage types.
    fault(mem.post("/types", json={"volume_type": {"name": unique("m")}}), "forbidden", 403)
    fault(mem.delete(f"/types/{t['id']}"), "forbidden", 403)
    assert adm.get(f"/types/{t['id']}").json()["volume_type"]["name"] == t["name"]


def test_private_types_and_access(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    t = _create(adm, **{"os-volume-type-access:is_public": False})
    assert t["is_public"] is False
    demo_project = project_of(cloud, "devstack")
    assert fault(mem.get(f"/types/{t['id']}"), "itemNotFound", 404)
    assert t["id"] not in [x["id"] for x in mem.get("/types").json()["volume_types"]]
    # Admins see private types with is_public=none (or false), not by default.
    assert t["id"] in [x["id"] for x in adm.get("/types", params={"is_public": "none"}).json()["volume_types"]]
    private = adm.get("/types", params={"is_public": "false"}).json()["volume_types"]
    assert t["id"] in [x["id"] for x in private] and all(not x["is_public"] for x in private)
    r = adm.post(f"/types/{t['id']}/action", json={"addProjectAccess": {"project": demo_project}})
    assert r.status_code == 202, r.text
    fault(adm.post(f"/types/{t['id']}/action", json={"addProjectAccess": {"project": demo_project}}),
          "conflictingRequest", 409)
    access = adm.get(f"/types/{t['id']}/os-volume-type-access").json()["volume_type_access"]
    assert access == [{"volume_type_id": t["id"], "project_id": demo_project}]
    assert mem.get(f"/types/{t['id']}").status_code == 200
    assert t["id"] in [x["id"] for x in mem.get("/types").json()["volume_types"]]
    fault(mem.post(f"/types/{t['id']}/action", json={"removeProjectAccess": {"project": demo_project}}),
          "forbidden", 403)
    assert adm.post(f"/types/{t['id']}/action",
                    json={"removeProjectAccess": {"project": demo_project}}).status_code == 202
    fault(adm.post(f"/types/{t['id']}/action", json={"removeProjectAccess": {"project": demo_project}}),
          "itemNotFound", 404)
    assert mem.get(f"/types/{t['id']}").status_code == 404


def test_list_sort_and_paging(adm: httpx.Client) -> None:
    made = sorted(_create(adm)["name"] for _ in range(3))
    names = [x["name"] for x in adm.get("/types", params={"sort": "name:asc"}).json()["volume_types"]]
    assert [n for n in names if n in made] == made
    first = adm.get("/types", params={"sort": "name:asc", "limit": 1}).json()["volume_types"]
    nxt = adm.get("/types", params={"sort": "name:asc", "limit": 1, "marker": first[0]["id"]}).json()
    assert nxt["volume_types"][0]["name"] == names[1]
    fault(adm.get("/types", params={"sort": "bogus:asc"}), "badRequest", 400)


def test_list_by_extra_specs(adm: httpx.Client, mem: httpx.Client) -> None:
    tag = unique("tag")
    fast = _create(adm, extra_specs={"tier": tag, "multiattach": "<is> True"})
    slow = _create(adm, extra_specs={"tier": tag})
    def ids(c: httpx.Client, specs: str) -> set[str]:
        r = c.get("/types", params={"extra_specs": specs})
        assert r.status_code == 200, r.text
        return {x["id"] for x in r.json()["volume_types"]}
    assert ids(adm, f"{{'tier': '{tag}'}}") == {fast["id"], slow["id"]}
    assert ids(adm, f"{{'tier': '{tag}', 'multiattach': '<is> True'}}") == {fast["id"]}
    # A member's filter on a key that is not theirs to read is ignored.
    assert {fast["id"], slow["id"]} <= ids(mem, f"{{'tier': 'nothing-{tag}'}}")
    fault(adm.get("/types", params={"extra_specs": "not a dict"}), "badRequest", 400)


def test_extra_specs(adm: httpx.Client, mem: httpx.Client) -> None:
    t = _create(adm)
    url = f"/types/{t['id']}/extra_specs"
    r = adm.post(url, json={"extra_specs": {"k1": "v1", "multiattach": "<is> True"}})
    assert r.status_code == 200 and r.json() == {"extra_specs": {"k1": "v1", "multiattach": "<is> True"}}
    assert adm.get(url).json() == {"extra_specs": {"k1": "v1", "multiattach": "<is> True"}}
    assert adm.get(f"{url}/k1").json() == {"k1": "v1"}
    assert adm.put(f"{url}/k1", json={"k1": "v2"}).json() == {"k1": "v2"}
    fault(adm.put(f"{url}/k1", json={"k2": "v2"}), "badRequest", 400)
    fault(adm.put(f"{url}/k1", json={"k1": "a", "k3": "b"}), "badRequest", 400)
    fault(adm.post(url, json={"extra_specs": {"k": 5}}), "badRequest", 400)
    assert mem.get(url).json() == {"extra_specs": {"multiattach": "<is> True"}}
    fault(mem.post(url, json={"extra_specs": {"k": "v"}}), "forbidden", 403)
    assert adm.delete(f"{url}/k1").status_code == 202
    msg = fault(adm.get(f"{url}/k1"), "itemNotFound", 404)
    assert msg == f"Volume Type {t['id']} has no extra specs with key k1."
    fault(adm.delete(f"{url}/k1"), "itemNotFound", 404)


def test_encryption(adm: httpx.Client, mem: httpx.Client) -> None:
    t = _create(adm)
    url = f"/types/{t['id']}/encryption"
    assert adm.get(url).json() == {}
    spec = {"provider": "luks", "cipher": "aes-xts-plain64", "key_size": 256, "control_location": "front-end"}
    r = adm.post(url, json={"encryption": spec})
    assert r.status_code == 200, r.text
    enc = r.json()["encryption"]
    assert {k: enc[k] for k in spec} == spec and enc["volume_type_id"] == t["id"]
    fault(adm.post(url, json={"encryption": spec}), "badRequest", 400)
    fault(adm.post(url, json={"encryption": {"provider": "luks", "control_location": "middle"}}), "badRequest", 400)
    shown = adm.get(url).json()
    assert shown["encryption_id"] == enc["encryption_id"] and shown["deleted"] is False
    assert adm.get(f"{url}/provider").json() == {"provider": "luks"}
    r = adm.put(f"{url}/{enc['encryption_id']}", json={"encryption": {"key_size": 512}})
    assert r.status_code == 200 and r.json() == {"encryption": {"key_size": 512}}
    assert adm.get(url).json()["key_size"] == 512
    fault(mem.get(url), "forbidden", 403)
    fault(adm.delete(f"{url}/not-it"), "itemNotFound", 404)
    assert adm.delete(f"{url}/{enc['encryption_id']}").status_code == 202
    assert adm.get(url).json() == {}


def test_default_types(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    t = _create(adm)
    demo_project = project_of(cloud, "devstack")
    url = f"/default-types/{demo_project}"
    r = adm.put(url, json={"default_type": {"volume_type": t["name"]}})
    assert r.status_code == 200, r.text
    assert r.json() == {"default_type": {"project_id": demo_project, "volume_type_id": t["id"]}}
    assert adm.get(url).json()["default_type"]["volume_type_id"] == t["id"]
    assert {"project_id": demo_project, "volume_type_id": t["id"]} in adm.get("/default-types").json()["default_types"]
    # The project's default is what /types/default answers there.
    assert mem.get("/types/default").json()["volume_type"]["id"] == t["id"]
    fault(mem.put(url, json={"default_type": {"volume_type": t["name"]}}), "forbidden", 403)
    fault(adm.put(url, json={"default_type": {"volume_type": "no-such-type"}}), "itemNotFound", 404)
    # Before 3.62 the resource does not exist.
    with client(cloud, version="3.61") as old:
        fault(old.get(url), "itemNotFound", 404)
    assert adm.delete(url).status_code == 204
    msg = fault(adm.get(url), "itemNotFound", 404)
    assert msg == f"Default type for project {demo_project} not found."


def test_sdk_sees_types(admin: Any) -> None:
    name = unique("sdk")
    created = admin.block_storage.create_type(name=name, extra_specs={"a": "b"})
    try:
        assert name in [t.name for t in admin.block_storage.types()]
        assert admin.block_storage.get_type(created.id).extra_specs == {"a": "b"}
    finally:
        admin.block_storage.delete_type(created.id)


def test_default_type_and_types_in_use(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    default = mem.get("/types/default").json()["volume_type"]
    assert default["name"] == "__DEFAULT__"
    msg = fault(adm.delete(f"/types/{default['id']}"), "badRequest", 400)
    assert msg == f"The volume type {default['id']} is a default volume type and cannot be deleted."
    t = _create(adm)
    with cinder(cloud, "devstack") as demo:
        vol = create_volume(demo, size=1, volume_type=t["name"])
        try:
            wait_volume(demo, vol["id"])
            assert fault(adm.delete(f"/types/{t['id']}"), "badRequest", 400) == "Target volume type is still in use."
            spec = {"provider": "luks", "control_location": "front-end"}
            assert fault(adm.post(f"/types/{t['id']}/encryption", json={"encryption": spec}), "badRequest", 400) \
                == "Cannot create encryption specs. Volume type in use."
        finally:
            demo.delete(f"volumes/{vol['id']}")
            wait_gone(demo, vol["id"])
    assert adm.delete(f"/types/{t['id']}").status_code == 202


def test_cli(cloud: RunningCloud) -> None:
    """openstackclient's volume type and QoS commands."""
    name, qos = unique("cli"), unique("cliqos")
    created = cloud.cli("volume", "type", "create", "--property", "a=b", "--private", "--project", "demo", name)
    assert created["properties"] == {"a": "b"} and created["is_public"] is False
    cloud.cli("volume", "type", "set", "--encryption-provider", "luks", "--encryption-key-size", "256",
              "--encryption-control-location", "front-end", name, json_out=False)
    shown = cloud.cli("volume", "type", "show", "--encryption-type", name)
    assert shown["encryption"]["provider"] == "luks" and len(shown["access_project_ids"]) == 1
    cloud.cli("volume", "qos", "create", "--property", "read_iops_sec=100", qos)
    cloud.cli("volume", "qos", "associate", qos, name, json_out=False)
    assert cloud.cli("volume", "qos", "show", qos)["associations"] == [name]
    cloud.cli("volume", "qos", "delete", "--force", qos, json_out=False)
    cloud.cli("volume", "type", "delete", name, json_out=False)
    assert name not in [t["Name"] for t in cloud.cli("volume", "type", "list")]
