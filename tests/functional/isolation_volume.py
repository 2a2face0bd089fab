"""Block storage's rows of the isolation matrix (test_isolation.py).

Cinder reads a resource with the caller's context before its policy check: another project's
volume, snapshot, backup, attachment, transfer, user message, group and group snapshot do not
exist for demo — 404 ``itemNotFound``, also where alt_demo's id is only named in a body (a
snapshot of alt's volume, a volume from alt's snapshot, an attachment to alt's volume…). A
private volume type without access is not found either. Admin APIs (type, QoS, default-type and
quota management, services, pools, hosts, capabilities, manage/unmanage, backup export/import)
check policy first: 403. What demo may see (a public type, a group type) it reads and cannot
change: 403.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

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

V = "/volume/v3"
LATEST = {"OpenStack-API-Version": "volume 3.71"}


def _wait(client: httpx.Client, path: str, member: str, status: str, timeout: float = 90) -> dict[str, Any]:
    """Poll ``path`` until its ``member`` reaches ``status`` (an unexpected error status fails at once)."""
    def reached() -> dict[str, Any] | None:
        doc: dict[str, Any] = ok(client.get(f"{V}/{path}", headers=LATEST))[member]
        if doc["status"] == status:
            return doc
        assert not doc["status"].startswith("error"), doc
        return None

    found: dict[str, Any] = wait_until(reached, timeout=timeout, what=f"{path} {status}")
    return found


def seed(a: Actors) -> Seeded:
    ids = a.ids()
    tag = uuid.uuid4().hex[:10]
    alt, admin, demo = a.alt_http, a.admin_http, a.demo_http

    def post(client: httpx.Client, path: str, body: dict[str, Any], member: str, key: str = "id") -> str:
        return str(ok(client.post(f"{V}/{path}", json=body, headers=LATEST))[member][key])

    # what only an admin makes: a public type (encrypted), a private one for alt only, one no backend
    # serves (alt's volume of it fails and leaves a user message), a QoS spec, a group type
    ids["pub_type"] = post(admin, "types", {"volume_type": {"name": f"iso-pub-{tag}"}}, "volume_type")
    ids["spec_key"] = "iso_key"
    ok(admin.post(f"{V}/types/{ids['pub_type']}/extra_specs", json={"extra_specs": {"iso_key": "v"}}))
    ids["encryption"] = post(admin, f"types/{ids['pub_type']}/encryption", {"encryption": {
        "provider": "luks", "control_location": "front-end", "cipher": "aes-xts-plain64", "key_size": 256}},
        "encryption", "encryption_id")
    ids["priv_type"] = post(admin, "types", {"volume_type": {"name": f"iso-priv-{tag}",
                                                             "os-volume-type-access:is_public": False}}, "volume_type")
    ids["nowhere_type"] = post(admin, "types", {"volume_type": {
        "name": f"iso-nowhere-{tag}", "os-volume-type-access:is_public": False,
        "extra_specs": {"volume_backend_name": f"iso-nowhere-{tag}"}}}, "volume_type")
    for vtype in (ids["priv_type"], ids["nowhere_type"]):
        ok(admin.post(f"{V}/types/{vtype}/action", json={"addProjectAccess": {"project": ids["alt_project"]}}))
    ids["qos"] = post(admin, "qos-specs", {"qos_specs": {"name": f"iso-qos-{tag}", "consumer": "back-end",
                                                          "read_iops_sec": "100"}}, "qos_specs")
    ids["group_type"] = post(admin, "group_types", {"group_type": {"name": f"iso-gt-{tag}"}}, "group_type")
    ids["group_spec"] = "iso_gkey"
    ok(admin.post(f"{V}/group_types/{ids['group_type']}/group_specs", json={"group_specs": {"iso_gkey": "v"}},
                  headers=LATEST))
    ok(admin.put(f"{V}/default-types/{ids['alt_project']}", json={"default_type": {"volume_type": ids["priv_type"]}},
                 headers=LATEST))
    services = ok(admin.get(f"{V}/os-services"))["services"]
    ids["host"] = next(s["host"] for s in services if s["binary"] == "cinder-volume")
    ids.update(meta_key=f"iso-key-{tag}", quota_class="default", service_action="disable", enc_key="provider", missing=str(uuid.uuid4()))
    # alt_demo's resources, one of each kind
    ids["volume"] = post(alt, "volumes", {"volume": {"size": 1, "name": f"iso-vol-{tag}", "volume_type": ids["priv_type"],
                                                     "metadata": {ids["meta_key"]: "alt"}}}, "volume")
    ids["volume2"] = post(alt, "volumes", {"volume": {"size": 1, "name": f"iso-vol2-{tag}"}}, "volume")
    ids["bad_volume"] = post(alt, "volumes", {"volume": {"size": 1, "name": f"iso-bad-{tag}",
                                                         "volume_type": ids["nowhere_type"]}}, "volume")
    _wait(alt, f"volumes/{ids['volume']}", "volume", "available")
    _wait(alt, f"volumes/{ids['volume2']}", "volume", "available")
    ids["snapshot"] = post(alt, "snapshots", {"snapshot": {"volume_id": ids["volume"], "name": f"iso-snap-{tag}",
                                                           "metadata": {ids["meta_key"]: "alt"}}}, "snapshot")
    _wait(alt, f"snapshots/{ids['snapshot']}", "snapshot", "available")
    ids["backup"] = post(alt, "backups", {"backup": {"volume_id": ids["volume"], "name": f"iso-backup-{tag}"}}, "backup")
    _wait(alt, f"backups/{ids['backup']}", "backup", "available")
    _wait(alt, f"volumes/{ids['volume']}", "volume", "available")
    ids["attachment"] = post(alt, "attachments", {"attachment": {"volume_uuid": ids["volume"]}}, "attachment")
    transfer = ok(alt.post(f"{V}/volume-transfers", json={"transfer": {"volume_id": ids["volume2"],
                                                                       "name": f"iso-xfer-{tag}"}}, headers=LATEST))
    ids["transfer"], ids["auth_key"] = transfer["transfer"]["id"], transfer["transfer"]["auth_key"]
    ids["group"] = post(alt, "groups", {"group": {"name": f"iso-group-{tag}", "group_type": ids["group_type"],
                                                  "volume_types": [ids["priv_type"]]}}, "group")
    _wait(alt, f"groups/{ids['group']}", "group", "available")
    ids["group_snapshot"] = post(alt, "group_snapshots", {"group_snapshot": {
        "group_id": ids["group"], "name": f"iso-gs-{tag}"}}, "group_snapshot")
    _wait(alt, f"group_snapshots/{ids['group_snapshot']}", "group_snapshot", "available")

    def message() -> str | None:
        found = ok(alt.get(f"{V}/messages", headers=LATEST))["messages"]
        return next((str(m["id"]) for m in found if m["resource_uuid"] == ids["bad_volume"]), None)

    ids["message"] = wait_until(message, timeout=60, what="alt's user message")
    # demo's own volume, to point its requests at alt_demo's resources
    ids["demo_volume"] = post(demo, "volumes", {"volume": {"size": 1, "name": f"iso-demo-{tag}"}}, "volume")
    _wait(demo, f"volumes/{ids['demo_volume']}", "volume", "available")
    secrets = {ids[k] for k in ("volume", "volume2", "bad_volume", "snapshot", "backup", "attachment", "transfer",
                                "auth_key", "group", "group_snapshot", "message", "priv_type", "nowhere_type",
                                "meta_key", "qos")}
    secrets |= {f"iso-{kind}-{tag}" for kind in ("vol", "vol2", "bad", "snap", "backup", "xfer", "group", "gs",
                                                 "priv", "nowhere", "qos")}

    def snapshot() -> Any:
        reads = [f"volumes/{ids['volume']}", f"volumes/{ids['volume2']}", f"volumes/{ids['bad_volume']}",
                 f"volumes/{ids['volume']}/metadata", f"snapshots/{ids['snapshot']}",
                 f"snapshots/{ids['snapshot']}/metadata", f"backups/{ids['backup']}",
                 f"attachments/{ids['attachment']}", f"volume-transfers/{ids['transfer']}",
                 f"messages/{ids['message']}", f"groups/{ids['group']}", f"group_snapshots/{ids['group_snapshot']}",
                 f"os-quota-sets/{ids['alt_project']}?usage=True"]
        shown = [view(alt.get(f"{V}/{path}", headers=LATEST)) for path in reads]
        shown += [view(admin.get(f"{V}/{path}", headers=LATEST)) for path in (
            f"types/{ids['pub_type']}", f"types/{ids['pub_type']}/extra_specs", f"types/{ids['pub_type']}/encryption",
            f"types/{ids['priv_type']}", f"types/{ids['priv_type']}/os-volume-type-access",
            f"qos-specs/{ids['qos']}", f"group_types/{ids['group_type']}",
            f"group_types/{ids['group_type']}/group_specs", f"default-types/{ids['alt_project']}",
            "os-quota-class-sets/default", f"os-quota-sets/{ids['demo_project']}",
            f"volumes/{ids['demo_volume']}")]
        return shown

    cleanup: list[tuple[Any, ...]] = [
        (alt, "DELETE", f"{V}/attachments/{ids['attachment']}"),
        (alt, "DELETE", f"{V}/volume-transfers/{ids['transfer']}"),
        (alt, "DELETE", f"{V}/group_snapshots/{ids['group_snapshot']}"),
        (alt, "DELETE", f"{V}/backups/{ids['backup']}"),
        (alt, "DELETE", f"{V}/snapshots/{ids['snapshot']}"),
        (alt, "DELETE", f"{V}/messages/{ids['message']}"),
        (alt, "DELETE", f"{V}/volumes/{ids['volume2']}"),
        (alt, "DELETE", f"{V}/volumes/{ids['bad_volume']}"),
        (demo, "DELETE", f"{V}/volumes/{ids['demo_volume']}"),
        (admin, "DELETE", f"{V}/default-types/{ids['alt_project']}"),
        (admin, "DELETE", f"{V}/qos-specs/{ids['qos']}"),
    ]

    def clean() -> None:
        for client, method, path in cleanup:
            client.request(method, path, headers=LATEST)
        # the volume goes once its snapshot (and the group's snapshot) are gone, then the group
        wait_until(lambda: alt.get(f"{V}/snapshots/{ids['snapshot']}").status_code == 404, timeout=60,
                   what="alt's snapshot deleted")
        wait_until(lambda: alt.get(f"{V}/group_snapshots/{ids['group_snapshot']}", headers=LATEST).status_code
                   == 404, timeout=60, what="alt's group snapshot deleted")
        alt.delete(f"{V}/volumes/{ids['volume']}", params={"cascade": "true"})
        alt.post(f"{V}/groups/{ids['group']}/action", json={"delete": {"delete-volumes": True}}, headers=LATEST)

    return _Seeded(ids, secrets, snapshot, cleanup, finish=clean)


@dataclass
class _Seeded(Seeded):
    """A seed whose removal waits (a volume goes only once its snapshots have)."""

    finish: Callable[[], None] = lambda: None

    def clean(self) -> None:
        self.finish()


def cinder_shape(resp: httpx.Response, code: int) -> str:
    """Cinder's faults are Nova's: ``{"itemNotFound": {"code": 404, "message": ...}}``."""
    return nova_shape(resp, code)


VOL = r"/v3/volumes/\{volume_id\}"
SNAP = r"/v3/snapshots/\{snapshot_id\}"
BACKUP = r"/v3/backups/\{backup_id\}"
TYPE = r"/v3/types/\{type_id\}"
GTYPE = r"/v3/group_types/\{type_id\}"
P = {"volume_id": "volume", "snapshot_id": "snapshot", "backup_id": "backup", "attachment_id": "attachment",
     "transfer_id": "transfer", "message_id": "message", "group_id": "group", "gs_id": "group_snapshot",
     "project_id": "alt_project", "class_name": "quota_class", "specs_id": "qos", "key": "meta_key",
     "host": "host", "encryption_id": "encryption"}
PUB = {"type_id": "pub_type", "key": "spec_key"}
PRIV = {"type_id": "priv_type", "key": "spec_key"}
GT = {"type_id": "group_type", "key": "group_spec"}
VOLUME_ACTIONS = [{"os-extend": {"new_size": 2}}, {"os-reset_status": {"status": "error"}}, {"os-force_delete": {}},
                  {"os-set_bootable": {"bootable": True}}, {"os-update_readonly_flag": {"readonly": True}},
                  {"os-retype": {"new_type": "__DEFAULT__"}}, {"os-reserve": {}}, {"os-unreserve": {}},
                  {"os-begin_detaching": {}}, {"os-roll_detaching": {}},
                  {"os-attach": {"instance_uuid": str(uuid.UUID(int=5)), "mountpoint": "/dev/vdb"}},
                  {"os-detach": {}}, {"os-initialize_connection": {"connector": {"host": "h"}}},
                  {"os-terminate_connection": {"connector": {"host": "h"}}}, {"os-force_detach": {}},
                  {"os-volume_upload_image": {"image_name": "stolen"}}, {"os-set_image_metadata": {"metadata": {"k": "v"}}},
                  {"os-unset_image_metadata": {"key": "k"}}, {"os-show_image_metadata": {}},
                  {"os-unmanage": {}}, {"os-migrate_volume": {"host": "nowhere@x#x"}},
                  {"os-migrate_volume_completion": {"new_volume": str(uuid.UUID(int=6))}}]
SNAPSHOT_ACTIONS = [{"os-reset_status": {"status": "error"}}, {"os-force_delete": {}},
                    {"os-update_snapshot_status": {"status": "error"}}, {"os-unmanage": {}}]
GROUP_ACTIONS = [{"delete": {"delete-volumes": True}}, {"reset_status": {"status": "error"}}]
ADMIN_ACTIONS: list[dict[str, Any]] = [{"os-reset_status": {"status": "error"}}, {"os-force_delete": {}},
                                       {"os-force_detach": {}}, {"os-unmanage": {}}]

ROWS: tuple[Probe, ...] = (
    Probe("GET", r"/|/v3/?", None, "version documents: the same for every caller"),
    Probe("GET", r"/v3/(extensions|resource_filters)", 200, sweep=False),
    Probe("GET", r"/v3/(limits|os-availability-zone)", 200),
    # every list: demo's own rows only, whatever the filters (the matrix's below)
    Probe("GET", r"/v3/(volumes|snapshots|backups|attachments|os-volume-transfer|volume-transfers|groups"
                 r"|group_snapshots)(/detail)?|/v3/volumes/summary|/v3/messages", 200),
    # alt's volume: not there for demo, whatever the route under it
    Probe("GET DELETE", VOL, 404, params=P),
    Probe("PUT", VOL, 404, params=P, body={"volume": {"name": "stolen"}}),
    *(Probe("POST", VOL + "/action", 404, params=P, body=b) for b in VOLUME_ACTIONS),
    Probe("POST", VOL + "/action", 404, params=P, headers=LATEST,
          body=lambda ids: {"os-reimage": {"image_id": ids["missing"], "reimage_reserved": True}}),
    Probe("GET POST PUT", VOL + "/metadata", 404, params=P, body={"metadata": {"stolen": "1"}}),
    Probe("GET DELETE", VOL + r"/metadata/\{key\}", 404, params=P),
    Probe("PUT", VOL + r"/metadata/\{key\}", 404, params=P, body=lambda ids: {"meta": {ids["meta_key"]: "x"}}),
    Probe("GET PUT DELETE", r"/v3/volumes/", 404, body={"volume": {"name": "stolen"}}),  # an empty id
    # demo's own volume: the admin actions are refused
    *(Probe("POST", VOL + "/action", 403, params={"volume_id": "demo_volume"}, body=b) for b in ADMIN_ACTIONS),
    # demo's creates naming alt's resources in the body: the named resource is not found
    Probe("POST", r"/v3/volumes", 404, body=lambda ids: {"volume": {"size": 1, "snapshot_id": ids["snapshot"]}}),
    Probe("POST", r"/v3/volumes", 404, body=lambda ids: {"volume": {"size": 1, "source_volid": ids["volume"]}}),
    Probe("POST", r"/v3/volumes", 404, body=lambda ids: {"volume": {"size": 1, "backup_id": ids["backup"]}}),
    Probe("POST", r"/v3/volumes", 404, body=lambda ids: {"volume": {"size": 1, "volume_type": ids["priv_type"]}}),
    Probe("POST", r"/v3/volumes", 404, body=lambda ids: {"volume": {"size": 1, "group_id": ids["group"]}}),
    Probe("POST", r"/v3/snapshots", 404, body=lambda ids: {"snapshot": {"volume_id": ids["volume"]}}),
    Probe("POST", r"/v3/backups", 404, body=lambda ids: {"backup": {"volume_id": ids["volume"]}}),
    Probe("POST", r"/v3/backups", 404, body=lambda ids: {"backup": {"volume_id": ids["demo_volume"],
                                                                    "snapshot_id": ids["snapshot"]}}),
    Probe("POST", r"/v3/attachments", 404, body=lambda ids: {"attachment": {"volume_uuid": ids["volume"]}}),
    Probe("POST", r"/v3/(os-volume-transfer|volume-transfers)", 404,
          body=lambda ids: {"transfer": {"volume_id": ids["volume"]}}),
    Probe("POST", r"/v3/groups", 404, body=lambda ids: {"group": {"group_type": ids["group_type"],
                                                                  "volume_types": [ids["priv_type"]]}}),
    Probe("POST", r"/v3/groups/action", 404, body=lambda ids: {"create-from-src": {
        "group_snapshot_id": ids["group_snapshot"]}}),
    Probe("POST", r"/v3/groups/action", 404, body=lambda ids: {"create-from-src": {"source_group_id": ids["group"]}}),
    Probe("POST", r"/v3/group_snapshots", 404, body=lambda ids: {"group_snapshot": {"group_id": ids["group"]}}),
    # snapshots
    Probe("GET DELETE", SNAP, 404, params=P),
    Probe("PUT", SNAP, 404, params=P, body={"snapshot": {"name": "stolen"}}),
    *(Probe("POST", SNAP + "/action", 404, params=P, body=b) for b in SNAPSHOT_ACTIONS),
    Probe("GET POST PUT", SNAP + "/metadata", 404, params=P, body={"metadata": {"stolen": "1"}}),
    Probe("GET DELETE", SNAP + r"/metadata/\{key\}", 404, params=P),
    Probe("PUT", SNAP + r"/metadata/\{key\}", 404, params=P, body=lambda ids: {"meta": {ids["meta_key"]: "x"}}),
    # backups
    Probe("GET DELETE", BACKUP, 404, params=P),
    Probe("PUT", BACKUP, 404, params=P, body={"backup": {"name": "stolen"}}),
    Probe("POST", BACKUP + "/restore", 404, params=P, body={"restore": {}}),
    Probe("POST", BACKUP + "/restore", 404, params=P, body=lambda ids: {"restore": {"volume_id": ids["demo_volume"]}}),
    Probe("POST", BACKUP + "/action", 404, params=P, body={"os-reset_status": {"status": "error"}}),
    Probe("POST", BACKUP + "/action", 404, params=P, body={"os-force_delete": {}}),
    Probe("GET", BACKUP + "/export_record", 403, params=P),
    Probe("POST", r"/v3/backups/import_record", 403, body={"backup-record": {"backup_service": "x",
                                                                             "backup_url": "eA=="}}),
    # attachments, transfers, messages
    Probe("GET DELETE", r"/v3/attachments/\{attachment_id\}", 404, params=P),
    Probe("PUT", r"/v3/attachments/\{attachment_id\}", 404, params=P,
          body={"attachment": {"connector": {"host": "h", "initiator": "iqn.x"}}}),
    Probe("POST", r"/v3/attachments/\{attachment_id\}/action", 404, params=P, body={"os-complete": {}}),
    Probe("GET DELETE", r"/v3/(os-volume-transfer|volume-transfers)/\{transfer_id\}", 404, params=P),
    # accepting goes by id and key across projects (that is what a transfer is for): a wrong key is refused
    Probe("POST", r"/v3/(os-volume-transfer|volume-transfers)/\{transfer_id\}/accept", 400, params=P,
          body={"accept": {"auth_key": "0000000000000000"}}),
    Probe("GET DELETE", r"/v3/messages/\{message_id\}", 404, params=P),
    # groups and group snapshots
    Probe("GET", r"/v3/groups/\{group_id\}", 404, params=P),
    Probe("PUT", r"/v3/groups/\{group_id\}", 404, params=P, body={"group": {"name": "stolen"}}),
    Probe("PUT", r"/v3/groups/\{group_id\}", 404, params={"group_id": "group"},
          body=lambda ids: {"group": {"add_volumes": ids["demo_volume"]}}),
    *(Probe("POST", r"/v3/groups/\{group_id\}/action", 404, params=P, body=b) for b in GROUP_ACTIONS),
    Probe("GET DELETE", r"/v3/group_snapshots/\{gs_id\}", 404, params=P),
    Probe("POST", r"/v3/group_snapshots/\{gs_id\}/action", 404, params=P, body={"reset_status": {"status": "error"}}),
    # volume types: a public one demo reads and cannot change; a private one without access is not there
    Probe("GET", r"/v3/types(/default)?", 200),
    Probe("POST", r"/v3/types", 403, body={"volume_type": {"name": "stolen"}}),
    Probe("GET", TYPE + r"(/extra_specs)?", 200, params=PUB),
    # a key outside Cinder's user-visible extra specs is an admin's to read: not there for demo
    Probe("GET", TYPE + r"/extra_specs/\{key\}", 404, params=PUB),
    Probe("GET", TYPE + r"(/extra_specs(/\{key\})?)?", 404, params=PRIV),
    Probe("PUT", TYPE, 403, params=PUB, body={"volume_type": {"name": "stolen"}}),
    Probe("DELETE", TYPE, 403, params=PUB),
    Probe("POST", TYPE + "/extra_specs", 403, params=PUB, body={"extra_specs": {"stolen": "1"}}),
    Probe("PUT", TYPE + r"/extra_specs/\{key\}", 403, params=PUB, body={"iso_key": "x"}),
    Probe("DELETE", TYPE + r"/extra_specs/\{key\}", 403, params=PUB),
    Probe("GET", TYPE + "/os-volume-type-access", 403, params=PRIV),
    Probe("POST", TYPE + "/action", 403, params=PRIV,
          body=lambda ids: {"addProjectAccess": {"project": ids["demo_project"]}}),
    Probe("POST", TYPE + "/action", 403, params=PRIV,
          body=lambda ids: {"removeProjectAccess": {"project": ids["alt_project"]}}),
    Probe("GET", TYPE + r"/encryption(/\{key\})?", 403, params={**PUB, "key": "enc_key"}),
    Probe("POST", TYPE + "/encryption", 403, params=PUB, body={"encryption": {"provider": "luks",
                                                                             "control_location": "front-end"}}),
    Probe("PUT", TYPE + r"/encryption/\{encryption_id\}", 403, params={**P, **PUB},
          body={"encryption": {"key_size": 128}}),
    Probe("DELETE", TYPE + r"/encryption/\{encryption_id\}", 403, params={**P, **PUB}),
    # default types, QoS specs: an admin's
    Probe("GET", r"/v3/default-types", 403),
    Probe("GET DELETE", r"/v3/default-types/\{project_id\}", 403, params=P),
    Probe("PUT", r"/v3/default-types/\{project_id\}", 403, params=P,
          body=lambda ids: {"default_type": {"volume_type": ids["pub_type"]}}),
    Probe("PUT", r"/v3/default-types/\{project_id\}", 403, params={"project_id": "demo_project"},
          body=lambda ids: {"default_type": {"volume_type": ids["pub_type"]}}),  # even demo's own
    Probe("GET", r"/v3/qos-specs", 403),
    Probe("POST", r"/v3/qos-specs", 403, body={"qos_specs": {"name": "stolen"}}),
    Probe("GET DELETE", r"/v3/qos-specs/\{specs_id\}", 403, params=P),
    Probe("PUT", r"/v3/qos-specs/\{specs_id\}", 403, params=P, body={"qos_specs": {"read_iops_sec": "1"}}),
    Probe("PUT", r"/v3/qos-specs/\{specs_id\}/delete_keys", 403, params=P, body={"keys": ["read_iops_sec"]}),
    Probe("GET", r"/v3/qos-specs/\{specs_id\}/(associations|disassociate_all)", 403, params=P),
    Probe("GET", r"/v3/qos-specs/\{specs_id\}/(associate|disassociate)", 403, params=P,
          query="vol_type_id={pub_type}"),
    # group types: demo reads a public one, manages none
    Probe("GET", r"/v3/group_types", 200),
    Probe("GET", r"/v3/group_types/default", None, "the configured default group type (404 when there is none): "
                                                    "the same for every caller"),
    Probe("POST", r"/v3/group_types", 403, body={"group_type": {"name": "stolen"}}),
    Probe("GET", GTYPE, 200, params=GT),
    Probe("PUT", GTYPE, 403, params=GT, body={"group_type": {"name": "stolen"}}),
    Probe("DELETE", GTYPE, 403, params=GT),
    Probe("GET", GTYPE + r"/group_specs(/\{key\})?", 403, params=GT),
    Probe("POST", GTYPE + "/group_specs", 403, params=GT, body={"group_specs": {"stolen": "1"}}),
    Probe("PUT", GTYPE + r"/group_specs/\{key\}", 403, params=GT, body={"iso_gkey": "x"}),
    Probe("DELETE", GTYPE + r"/group_specs/\{key\}", 403, params=GT),
    # quotas of another project, and quota management
    Probe("GET", r"/v3/os-quota-sets/\{project_id\}(/defaults)?", 403, params=P),
    Probe("PUT", r"/v3/os-quota-sets/\{project_id\}", 403, params=P, body={"quota_set": {"volumes": 99}}),
    Probe("PUT", r"/v3/os-quota-sets/\{project_id\}", 403, params={"project_id": "demo_project"},
          body={"quota_set": {"volumes": 99}}),  # even demo's own
    Probe("DELETE", r"/v3/os-quota-sets/\{project_id\}", 403, params=P),
    Probe("GET", r"/v3/os-quota-class-sets/\{class_name\}", 403, params=P),
    Probe("PUT", r"/v3/os-quota-class-sets/\{class_name\}", 403, params=P, body={"quota_class_set": {"volumes": 99}}),
    # the operator's APIs
    Probe("GET", r"/v3/os-services|/v3/scheduler-stats/get_pools|/v3/os-hosts", 403),
    Probe("PUT", r"/v3/os-services/\{action\}", 403, params={"action": "service_action"},
          body=lambda ids: {"host": ids["host"], "binary": "cinder-volume"}),
    Probe("GET", r"/v3/os-hosts/\{host\}|/v3/capabilities/\{host\}", 403, params=P),
    Probe("GET", r"/v3/manageable_(volumes|snapshots)(/detail)?", 403, query="host={host}"),
    Probe("POST", r"/v3/os-volume-manage", 403, body=lambda ids: {"volume": {
        "host": ids["host"], "ref": {"source-name": "x"}}}),
    Probe("POST", r"/v3/os-snapshot-manage", 403, body=lambda ids: {"snapshot": {
        "volume_id": ids["volume"], "ref": {"source-name": "x"}}}),
)

MATRIX = register(ServiceMatrix(
    service="volume-api", prefix="/volume", error=cinder_shape, seed=seed, probes=ROWS, headers=LATEST,
    filters=("all_tenants=1", "all_tenants=1&project_id={alt_project}", "project_id={alt_project}",
             "all_projects=1", "volume_id={volume}", "group_id={group}", "name=iso-", "name~=iso",
             "status=available", "sort=project_id:desc", "marker={volume}", "resource_uuid={bad_volume}",
             "with_count=true")))
