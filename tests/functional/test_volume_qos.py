"""QoS specs on a running cloud: CRUD, keys, associations with volume types, and what members may not do."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.volume_catalog_support import client, fault, unique


@pytest.fixture(scope="module")
def adm(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud) as c:
        yield c


@pytest.fixture(scope="module")
def mem(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud, "devstack") as c:
        yield c


def _qos(adm: httpx.Client, **specs: Any) -> dict[str, Any]:
    r = adm.post("/qos-specs", json={"qos_specs": {"name": unique("qos"), **specs}})
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    assert {link["rel"] for link in body["links"]} == {"self", "bookmark"}
    return dict(body["qos_specs"])


def _type(adm: httpx.Client) -> str:
    r = adm.post("/types", json={"volume_type": {"name": unique("qt")}})
    assert r.status_code == 200, r.text
    return str(r.json()["volume_type"]["id"])


def test_crud_and_keys(adm: httpx.Client) -> None:
    q = _qos(adm, consumer="front-end", read_iops_sec="100")
    assert q["consumer"] == "front-end" and q["specs"] == {"read_iops_sec": "100"}
    assert fault(adm.post("/qos-specs", json={"qos_specs": {"name": q["name"]}}), "conflictingRequest", 409) \
        == f"QoS Specs {q['name']} already exists."
    fault(adm.post("/qos-specs", json={"qos_specs": {"name": unique("q"), "consumer": "nobody"}}), "badRequest", 400)
    fault(adm.post("/qos-specs", json={"qos_specs": {"consumer": "both"}}), "badRequest", 400)
    r = adm.put(f"/qos-specs/{q['id']}", json={"qos_specs": {"write_iops_sec": "50", "read_iops_sec": "200"}})
    assert r.status_code == 200 and r.json() == {"qos_specs": {"write_iops_sec": "50", "read_iops_sec": "200"}}
    shown = adm.get(f"/qos-specs/{q['id']}").json()["qos_specs"]
    assert shown["specs"] == {"read_iops_sec": "200", "write_iops_sec": "50"}
    assert adm.put(f"/qos-specs/{q['id']}/delete_keys", json={"keys": ["write_iops_sec"]}).status_code == 202
    msg = fault(adm.put(f"/qos-specs/{q['id']}/delete_keys", json={"keys": ["write_iops_sec"]}), "itemNotFound", 404)
    assert msg == f"QoS spec {q['id']} has no spec with key write_iops_sec."
    assert adm.get(f"/qos-specs/{q['id']}").json()["qos_specs"]["specs"] == {"read_iops_sec": "200"}
    assert q["id"] in [x["id"] for x in adm.get("/qos-specs").json()["qos_specs"]]
    assert adm.delete(f"/qos-specs/{q['id']}").status_code == 202
    assert fault(adm.get(f"/qos-specs/{q['id']}"), "itemNotFound", 404) == f"No such QoS spec {q['id']}."


def test_associations(adm: httpx.Client) -> None:
    q, other = _qos(adm), _qos(adm)
    t1, t2 = _type(adm), _type(adm)
    for t in (t1, t2):
        assert adm.get(f"/qos-specs/{q['id']}/associate", params={"vol_type_id": t}).status_code == 202
    assoc = adm.get(f"/qos-specs/{q['id']}/associations").json()["qos_associations"]
    assert {a["id"] for a in assoc} == {t1, t2} and {a["association_type"] for a in assoc} == {"volume_type"}
    assert adm.get(f"/types/{t1}").json()["volume_type"]["qos_specs_id"] == q["id"]
    # A type has one QoS spec at most.
    fault(adm.get(f"/qos-specs/{other['id']}/associate", params={"vol_type_id": t1}), "badRequest", 400)
    fault(adm.get(f"/qos-specs/{q['id']}/associate"), "badRequest", 400)
    fault(adm.get(f"/qos-specs/{q['id']}/associate", params={"vol_type_id": "nope"}), "itemNotFound", 404)
    # In use: no delete without force.
    fault(adm.delete(f"/qos-specs/{q['id']}"), "badRequest", 400)
    assert adm.get(f"/qos-specs/{q['id']}/disassociate", params={"vol_type_id": t1}).status_code == 202
    assert [a["id"] for a in adm.get(f"/qos-specs/{q['id']}/associations").json()["qos_associations"]] == [t2]
    assert adm.get(f"/qos-specs/{q['id']}/disassociate_all").status_code == 202
    assert adm.get(f"/qos-specs/{q['id']}/associations").json()["qos_associations"] == []
    assert adm.get(f"/qos-specs/{q['id']}/associate", params={"vol_type_id": t1}).status_code == 202
    assert adm.delete(f"/qos-specs/{q['id']}", params={"force": "true"}).status_code == 202
    assert adm.get(f"/types/{t1}").json()["volume_type"]["qos_specs_id"] is None


def test_members_may_not(adm: httpx.Client, mem: httpx.Client) -> None:
    q = _qos(adm)
    fault(mem.get("/qos-specs"), "forbidden", 403)
    fault(mem.get(f"/qos-specs/{q['id']}"), "forbidden", 403)
    fault(mem.post("/qos-specs", json={"qos_specs": {"name": unique("m")}}), "forbidden", 403)
    fault(mem.delete(f"/qos-specs/{q['id']}"), "forbidden", 403)
    assert adm.get(f"/qos-specs/{q['id']}").status_code == 200
