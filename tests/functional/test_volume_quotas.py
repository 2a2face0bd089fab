"""Block-storage quotas on a running cloud: quota sets (with usage), defaults, updates and their
checks, deletion back to defaults, quota classes, and /limits."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.functional.cloud import RunningCloud
from tests.functional.volume_catalog_support import client, fault, project_of, unique
from tests.functional.volume_support import cinder, create_volume, wait_gone, wait_volume

KEYS = {"volumes", "snapshots", "gigabytes", "backups", "backup_gigabytes", "groups", "per_volume_gigabytes"}


@pytest.fixture(scope="module")
def adm(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud) as c:
        yield c


@pytest.fixture(scope="module")
def mem(cloud: RunningCloud) -> Iterator[httpx.Client]:
    with client(cloud, "devstack") as c:
        yield c


@pytest.fixture(scope="module")
def alt_project(cloud: RunningCloud) -> str:
    return project_of(cloud, "devstack-alt")


def _volume_count(cloud: RunningCloud, name: str) -> int:
    with cinder(cloud, name) as c:
        return len(c.get("volumes", params={"limit": 1000}).json()["volumes"])


def test_show_defaults_and_usage(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    demo = project_of(cloud, "devstack")
    qs = adm.get(f"/os-quota-sets/{demo}").json()["quota_set"]
    assert KEYS <= set(qs) and qs["id"] == demo and qs["volumes"] == 10 and qs["per_volume_gigabytes"] == -1
    defaults = adm.get(f"/os-quota-sets/{demo}/defaults").json()["quota_set"]
    assert defaults["gigabytes"] == 1000 and defaults["id"] == demo
    usage = mem.get(f"/os-quota-sets/{demo}", params={"usage": "True"}).json()["quota_set"]
    assert usage["volumes"] == {"limit": 10, "in_use": _volume_count(cloud, "devstack"), "reserved": 0}
    # A member sees their own project's quotas only.
    fault(mem.get(f"/os-quota-sets/{project_of(cloud, 'devstack-alt')}"), "forbidden", 403)


def test_update_and_delete(adm: httpx.Client, mem: httpx.Client, alt_project: str) -> None:
    url = f"/os-quota-sets/{alt_project}"
    r = adm.put(url, json={"quota_set": {"volumes": 3, "gigabytes": "20", "per_volume_gigabytes": 5}})
    assert r.status_code == 200, r.text
    qs = r.json()["quota_set"]
    assert (qs["volumes"], qs["gigabytes"], qs["per_volume_gigabytes"]) == (3, 20, 5) and "id" not in qs
    assert adm.get(url).json()["quota_set"]["volumes"] == 3
    assert fault(adm.put(url, json={"quota_set": {"volumes": -2}}), "badRequest", 400) \
        == "Invalid input received: volumes must be >= -1"
    assert fault(adm.put(url, json={"quota_set": {"volumes": "many"}}), "badRequest", 400) \
        == "Invalid input received: volumes must be an integer"
    assert fault(adm.put(url, json={"quota_set": {"bogus": 1, "volumes": 5}}), "badRequest", 400) \
        == "Bad key(s) in quota set: bogus"
    fault(adm.put(url, json={"volumes": 5}), "badRequest", 400)
    fault(adm.put(url, json={"quota_set": {"volumes": 1}, "skip_validation": "maybe"}), "badRequest", 400)
    # Nothing above changed anything.
    assert adm.get(url).json()["quota_set"]["volumes"] == 3
    fault(mem.put(url, json={"quota_set": {"volumes": 50}}), "forbidden", 403)
    # Validation against usage: nothing is used, so 0 is allowed.
    assert adm.put(url, json={"quota_set": {"volumes": 0}, "skip_validation": False}).status_code == 200
    assert adm.delete(url).status_code == 200
    assert adm.get(url).json()["quota_set"]["volumes"] == 10


def test_quota_classes(adm: httpx.Client, mem: httpx.Client, alt_project: str) -> None:
    cls = adm.get("/os-quota-class-sets/default").json()["quota_class_set"]
    assert cls["id"] == "default" and cls["backups"] == 10
    try:
        r = adm.put("/os-quota-class-sets/default", json={"quota_class_set": {"backups": 12}})
        assert r.status_code == 200 and r.json()["quota_class_set"]["backups"] == 12
        # The default class is every project's default.
        assert adm.get(f"/os-quota-sets/{alt_project}/defaults").json()["quota_set"]["backups"] == 12
        assert adm.get(f"/os-quota-sets/{alt_project}").json()["quota_set"]["backups"] == 12
        fault(adm.put("/os-quota-class-sets/default", json={"quota_class_set": {"nope": 1}}), "badRequest", 400)
        fault(mem.get("/os-quota-class-sets/default"), "forbidden", 403)
    finally:
        adm.put("/os-quota-class-sets/default", json={"quota_class_set": {"backups": 10}}).raise_for_status()


def test_limits(cloud: RunningCloud, adm: httpx.Client, mem: httpx.Client) -> None:
    demo = project_of(cloud, "devstack")
    adm.put(f"/os-quota-sets/{demo}", json={"quota_set": {"snapshots": 7}}).raise_for_status()
    try:
        limits = mem.get("/limits").json()["limits"]
        assert limits["rate"] == []
        absolute = limits["absolute"]
        assert absolute["maxTotalSnapshots"] == 7 and absolute["maxTotalVolumes"] == 10
        assert absolute["totalVolumesUsed"] == _volume_count(cloud, "devstack")
        assert set(absolute) == {"maxTotalVolumes", "maxTotalSnapshots", "maxTotalVolumeGigabytes",
                                 "maxTotalBackups", "maxTotalBackupGigabytes", "totalVolumesUsed",
                                 "totalGigabytesUsed", "totalSnapshotsUsed", "totalBackupsUsed",
                                 "totalBackupGigabytesUsed"}
    finally:
        adm.delete(f"/os-quota-sets/{demo}").raise_for_status()


def test_sdk_quota_set(admin: object, alt_project: str) -> None:
    qs = admin.block_storage.get_quota_set(alt_project)  # type: ignore[attr-defined]
    assert qs.volumes == 10


def test_usage_and_over_quota_on_create(cloud: RunningCloud, adm: httpx.Client, alt_project: str) -> None:
    """With volumes in use: usage counts them, a limit below usage is refused when validated,
    and creating past the limit is Cinder's 413 overLimit (nothing created)."""
    url = f"/os-quota-sets/{alt_project}"
    with cinder(cloud, "devstack-alt") as alt:
        before = adm.get(url, params={"usage": "true"}).json()["quota_set"]
        vol = create_volume(alt, size=1, name=unique("q"))
        try:
            wait_volume(alt, vol["id"])
            type_name = vol["volume_type"]
            used_v, used_g = before["volumes"]["in_use"] + 1, before["gigabytes"]["in_use"] + 1
            used_t = before.get(f"volumes_{type_name}", {"in_use": 0})["in_use"] + 1
            usage = adm.get(url, params={"usage": "true"}).json()["quota_set"]
            assert (usage["volumes"]["in_use"], usage["gigabytes"]["in_use"]) == (used_v, used_g)
            assert usage[f"volumes_{type_name}"]["in_use"] == used_t
            msg = fault(adm.put(url, json={"quota_set": {"volumes": used_v - 1}, "skip_validation": False}),
                        "badRequest", 400)
            assert msg.startswith("Quota volumes limit must be equal or greater than existing resources.")
            adm.put(url, json={"quota_set": {"volumes": used_v}}).raise_for_status()
            r = alt.post("volumes", json={"volume": {"size": 1}})
            assert fault(r, "overLimit", 413) == (f"Maximum number of volumes allowed ({used_v}) exceeded for "
                                                  "quota 'volumes'.")
            adm.put(url, json={"quota_set": {"volumes": used_v + 5, "gigabytes": used_g + 1}}).raise_for_status()
            r = alt.post("volumes", json={"volume": {"size": 2}})
            assert fault(r, "overLimit", 413) == ("Requested volume or snapshot exceeds allowed gigabytes quota. "
                                                  f"Requested 2G, quota is {used_g + 1}G and {used_g}G has been "
                                                  "consumed.")
            adm.put(url, json={"quota_set": {"gigabytes": -1, f"volumes_{type_name}": used_t}}).raise_for_status()
            r = alt.post("volumes", json={"volume": {"size": 1}})
            assert fault(r, "overLimit", 413) == (f"Maximum number of volumes allowed ({used_t}) exceeded for quota "
                                                  f"'volumes_{type_name}'.")
            assert adm.get(url, params={"usage": "true"}).json()["quota_set"]["volumes"]["in_use"] == used_v
        finally:
            adm.delete(url).raise_for_status()
            alt.delete(f"volumes/{vol['id']}")
            wait_gone(alt, vol["id"])
