"""The transactions that start moving a server between hosts: resize, migrate, live migrate,
evacuate, and confirm or revert a resize.

Each checks lock and state, sets the server's task state, records the instance action and
creates the migration row in one transaction; the conductor and agents do the rest. What
comes back are plain dicts (the server, the migration) for the casts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute import states
from onestack.compute.models import Instance, Service
from onestack.compute.scheduler.snapshot import COMPUTE_BINARY
from onestack.compute.service import boot, hypervisors, instances, migrations, quotas
from onestack.compute.service import flavors as flavor_svc
from onestack.compute.service.servers import Actor, host_up
from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import utcnow

NOT_RESIZED = "Instance has not been resized."
UNAVAILABLE = "Service is unavailable at this time."

Prepare = Callable[[Session, Instance], dict[str, Any]]


@dataclass
class Move:
    """What one move action does to the server row when it starts."""

    name: str  # as in Nova's 409 "Cannot '<name>' instance ..." message
    action: str  # the os-instance-actions name
    vm_states: tuple[str, ...]
    task_state: str
    migration_type: str
    status: str
    check_lock: bool = True
    host_up: bool = False  # 409 unless the server's host is up (resize, migrate)
    # resize and migrate (both Nova's compute API resize) set the disk config: the requested one,
    # MANUAL when none is (Nova's ``auto_disk_config or False``); other moves keep it (None).
    auto_disk_config: bool | None = None


def begin(s: Session, uuid: str, move: Move, admin: bool, actor: Actor, down_after: float,
          prepare: Prepare | None = None) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Check and start ``move``: (server, migration, what ``prepare`` returned)."""
    inst = instances.get(s, uuid)
    if move.check_lock:
        instances.check_not_locked(inst, admin)
    instances.check_state(inst, move.name, move.vm_states, (None,))
    if not inst.host:
        raise Conflict(f"Instance {inst.uuid} is not ready")
    if move.host_up and not host_up(s, inst.host, down_after):
        raise Conflict(UNAVAILABLE)
    extra = prepare(s, inst) if prepare is not None else {}
    meta = dict(inst.system_metadata or {})
    meta["old_vm_state"] = inst.vm_state
    if move.auto_disk_config is not None:
        image = meta.get("image_properties") or {}
        meta["auto_disk_config"] = boot.auto_disk_config(move.auto_disk_config, image,
                                                         meta.get("image_base_image_ref") or inst.image_ref)
    try:
        inst = instances.apply_update(s, inst.uuid, {"task_state": move.task_state, "progress": 0,
                                                     "system_metadata": meta},
                                      expected_task_state=[None], expected_vm_state=list(move.vm_states))
    except instances.UnexpectedTaskState:
        raise Conflict(f"Cannot '{move.name}' instance {inst.uuid} while it is in task_state "
                       f"{inst.task_state}") from None
    instances.start_action(s, inst.uuid, move.action, actor.request_id, actor.project_id, actor.user_id)
    mig = migrations.create(s, inst, actor.project_id, actor.user_id, move.migration_type, move.status,
                            new_flavorid=(extra.get("flavor") or {}).get("flavorid"), dest_compute=extra.get("dest"))
    return instances.to_dict(inst), {"uuid": mig.uuid, "id": mig.id}, extra


def _flavor_snapshot(flavor: Any) -> dict[str, Any]:
    return {"flavorid": flavor.flavorid, "name": flavor.name, "vcpus": flavor.vcpus, "memory_mb": flavor.memory_mb,
            "root_gb": flavor.root_gb, "ephemeral_gb": flavor.ephemeral_gb, "swap": flavor.swap,
            "rxtx_factor": flavor.rxtx_factor, "extra_specs": flavor_svc.specs_of(flavor),
            "description": flavor.description}


def check_upsize_quota(s: Session, inst: Instance, old: dict[str, Any], new: dict[str, Any]) -> None:
    """Growing cores or RAM must fit the project's quota (Nova's 403)."""
    deltas = {"cores": int(new["vcpus"]) - int(old["vcpus"]), "ram": int(new["memory_mb"]) - int(old["memory_mb"])}
    deltas = {k: v for k, v in deltas.items() if v > 0}
    if not deltas:
        return
    limits = quotas.limits_for(s, inst.project_id, inst.user_id)
    used = instances.usage(s, inst.project_id)
    over = [r for r, d in deltas.items() if limits[r] >= 0 and used[r] + d > limits[r]]
    if over:
        names = ", ".join(over)
        raise Forbidden(f"Quota exceeded for {names}: Requested {', '.join(str(deltas[r]) for r in over)}, "
                        f"but already used {', '.join(str(used[r]) for r in over)} of "
                        f"{', '.join(str(limits[r]) for r in over)} {names}")


def resize_to(flavor_id: str, viewer: flavor_svc.Viewer) -> Prepare:
    """The resize checks of the new flavor against the server, its image and its quota."""

    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        try:
            flavor = flavor_svc.get_flavor(s, flavor_id, viewer)
        except NotFound:
            raise BadRequest(f"Flavor {flavor_id} could not be found.") from None
        current = inst.flavor
        if flavor.flavorid == current.get("flavorid"):
            raise BadRequest("When resizing, instances must change flavor!")
        if flavor.disabled:
            raise BadRequest(f"Flavor {flavor_id} could not be found.")
        if flavor.root_gb == 0 and int(current.get("root_gb") or 0) != 0:
            raise BadRequest("Server disk was unable to be resized because: "
                             "Resize to zero disk flavor is not allowed.")
        image = (inst.system_metadata or {}).get("image_properties") or {}
        if int(image.get("min_ram") or 0) > flavor.memory_mb:
            raise BadRequest("Flavor's memory is too small for requested image.")
        if flavor.root_gb and int(image.get("min_disk") or 0) > flavor.root_gb:
            raise BadRequest(f"Flavor's disk is too small for requested image. Flavor disk is "
                             f"{flavor.root_gb * 1024 ** 3} bytes, minimum size is "
                             f"{int(image['min_disk']) * 1024 ** 3} bytes.")
        new = _flavor_snapshot(flavor)
        check_upsize_quota(s, inst, current, new)
        return {"flavor": new}

    return prepare


def migrate_to(host: str | None) -> Prepare:
    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        if host is not None:
            if host == inst.host:
                raise BadRequest("Cannot migrate to the host where the server exists.")
            if not hypervisors.node_exists(s, host):
                raise BadRequest(f"Compute host {host} could not be found.")
        return {"flavor": dict(inst.flavor)}

    return prepare


def live_migrate_to(host: str | None) -> Prepare:
    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        if host is not None and not hypervisors.node_exists(s, host):
            raise BadRequest(f"Compute host {host} could not be found.")
        return {"dest": host}

    return prepare


def evacuate_to(host: str | None, down_after: float) -> Prepare:
    def prepare(s: Session, inst: Instance) -> dict[str, Any]:
        if host_up(s, inst.host or "", down_after):
            raise BadRequest(f"Compute service of {inst.host} is still in use.")
        return {"dest": host}

    return prepare


def check_evacuate_host(s: Session, host: str | None, current: str | None) -> None:
    """The named target must be a compute service other than the server's own host."""
    if host is not None and s.scalar(select(Service.id).where(
            Service.host == host, Service.binary == COMPUTE_BINARY)) is None:
        raise NotFound(f"Compute host {host} not found.")
    if host is not None and host == current:
        raise BadRequest("The target host can't be the same one.")


def settle(s: Session, uuid: str, name: str, revert: bool, admin: bool, actor: Actor,
           down_after: float) -> tuple[dict[str, Any], dict[str, Any]]:
    """Confirm (``revert`` False) or revert a finished resize: (server, migration)."""
    inst = instances.get(s, uuid)
    instances.check_not_locked(inst, admin)
    instances.check_state(inst, name, (states.RESIZED,), (None,))
    mig = migrations.latest(s, inst.uuid, "finished")
    if mig is None:
        raise BadRequest(NOT_RESIZED)
    if revert:
        check_upsize_quota(s, inst, inst.flavor, inst.old_flavor or inst.flavor)
        try:
            inst = instances.apply_update(s, inst.uuid, {"task_state": states.RESIZE_REVERTING},
                                          expected_task_state=[None], expected_vm_state=[states.RESIZED])
        except instances.UnexpectedTaskState:
            raise Conflict(f"Cannot '{name}' instance {inst.uuid} while it is in task_state "
                           f"{inst.task_state}") from None
        mig.status = "reverting"
    else:
        if not mig.source_compute or not host_up(s, mig.source_compute, down_after):
            raise Conflict(UNAVAILABLE)
        mig.status = "confirming"
    mig.updated_at = utcnow()
    instances.start_action(s, inst.uuid, name, actor.request_id, actor.project_id, actor.user_id)
    s.flush()
    return instances.to_dict(inst), migrations.migration_dict(mig)


def confirm_before_delete(s: Session, uuid: str) -> dict[str, Any] | None:
    """Mark the resize of a server about to be deleted as confirming; the migration, if any."""
    mig = migrations.latest(s, uuid, "finished")
    if mig is None:
        return None
    mig.status, mig.updated_at = "confirming", utcnow()
    s.flush()
    return migrations.migration_dict(mig)


def act_on_live_migration(s: Session, uuid: str, raw_id: str, name: str, action: str,
                          vm_states: tuple[str, ...] | None, allowed_statuses: tuple[str, ...], method: str,
                          missing: type[Exception], admin: bool, actor: Actor) -> dict[str, Any]:
    """Force-complete or abort: lock, state and migration checks, then the instance action;
    the migration's id and source host for the cast."""
    inst = instances.get(s, uuid)
    instances.check_not_locked(inst, admin)
    instances.check_state(inst, name, vm_states, (states.MIGRATING,))
    mig = migrations.find(s, inst.uuid, raw_id)
    if mig is None:
        raise missing(f"Migration {raw_id} not found for instance {inst.uuid}")
    if mig.status not in allowed_statuses:
        raise BadRequest(f"Migration {raw_id} state of instance {inst.uuid} is {mig.status}. "
                         f"Cannot {method} while the migration is in this state.")
    instances.start_action(s, inst.uuid, action, actor.request_id, actor.project_id, actor.user_id)
    return {"id": mig.id, "source_compute": mig.source_compute or inst.host}
