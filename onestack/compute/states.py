"""Nova's server states: vm_state (where it is), task_state (what is happening), and the API status.

The status a client sees is a function of the two, exactly as Nova maps them; ``power_state``
(what the hypervisor last reported) is shown beside them and never changes the status.
"""

from __future__ import annotations

# vm states
ACTIVE = "active"
BUILDING = "building"
PAUSED = "paused"
SUSPENDED = "suspended"
STOPPED = "stopped"
RESCUED = "rescued"
RESIZED = "resized"
SOFT_DELETED = "soft-delete"
DELETED = "deleted"
ERROR = "error"
SHELVED = "shelved"
SHELVED_OFFLOADED = "shelved_offloaded"

# task states
SCHEDULING = "scheduling"
NETWORKING = "networking"
SPAWNING = "spawning"
IMAGE_SNAPSHOT = "image_snapshot"
IMAGE_PENDING_UPLOAD = "image_pending_upload"
IMAGE_UPLOADING = "image_uploading"
UPDATING_PASSWORD = "updating_password"
RESIZE_PREP = "resize_prep"
RESIZE_MIGRATING = "resize_migrating"
RESIZE_MIGRATED = "resize_migrated"
RESIZE_FINISH = "resize_finish"
RESIZE_REVERTING = "resize_reverting"
RESIZE_CONFIRMING = "resize_confirming"
REBOOTING = "rebooting"
REBOOT_PENDING = "reboot_pending"
REBOOT_STARTED = "reboot_started"
REBOOTING_HARD = "rebooting_hard"
REBOOT_PENDING_HARD = "reboot_pending_hard"
REBOOT_STARTED_HARD = "reboot_started_hard"
PAUSING = "pausing"
UNPAUSING = "unpausing"
SUSPENDING = "suspending"
RESUMING = "resuming"
POWERING_OFF = "powering-off"
POWERING_ON = "powering-on"
RESCUING = "rescuing"
UNRESCUING = "unrescuing"
REBUILDING = "rebuilding"
REBUILD_SPAWNING = "rebuild_spawning"
MIGRATING = "migrating"
DELETING = "deleting"
SHELVING = "shelving"
SHELVING_IMAGE_PENDING_UPLOAD = "shelving_image_pending_upload"
SHELVING_IMAGE_UPLOADING = "shelving_image_uploading"
SHELVING_OFFLOADING = "shelving_offloading"
UNSHELVING = "unshelving"

_REBOOT = {REBOOTING: "REBOOT", REBOOT_PENDING: "REBOOT", REBOOT_STARTED: "REBOOT",
           REBOOTING_HARD: "HARD_REBOOT", REBOOT_PENDING_HARD: "HARD_REBOOT", REBOOT_STARTED_HARD: "HARD_REBOOT"}
_RESIZE = {RESIZE_PREP: "RESIZE", RESIZE_MIGRATING: "RESIZE", RESIZE_MIGRATED: "RESIZE", RESIZE_FINISH: "RESIZE"}
_REBUILD = {REBUILDING: "REBUILD", "rebuild_block_device_mapping": "REBUILD", REBUILD_SPAWNING: "REBUILD"}

# vm_state -> {task_state or "default": status}
STATUS_MAP: dict[str, dict[str, str]] = {
    ACTIVE: {"default": "ACTIVE", **_REBOOT, UPDATING_PASSWORD: "PASSWORD", **_REBUILD,
             MIGRATING: "MIGRATING", **_RESIZE},
    BUILDING: {"default": "BUILD"},
    STOPPED: {"default": "SHUTOFF", **_RESIZE, **_REBUILD},
    RESIZED: {"default": "VERIFY_RESIZE", RESIZE_REVERTING: "REVERT_RESIZE"},
    PAUSED: {"default": "PAUSED", MIGRATING: "MIGRATING"},
    SUSPENDED: {"default": "SUSPENDED"},
    RESCUED: {"default": "RESCUE"},
    ERROR: {"default": "ERROR", **_REBUILD},
    DELETED: {"default": "DELETED"},
    SOFT_DELETED: {"default": "SOFT_DELETED"},
    SHELVED: {"default": "SHELVED"},
    SHELVED_OFFLOADED: {"default": "SHELVED_OFFLOADED"},
}

# status -> the vm_states it can come from (for ?status= filters); Nova's reverse map.
STATUS_TO_STATES: dict[str, list[tuple[str, str | None]]] = {}
for _vm, _tasks in STATUS_MAP.items():
    for _task, _status in _tasks.items():
        STATUS_TO_STATES.setdefault(_status, []).append((_vm, None if _task == "default" else _task))


def status_of(vm_state: str, task_state: str | None) -> str:
    tasks = STATUS_MAP.get(vm_state)
    if tasks is None:
        return "UNKNOWN"
    return tasks.get(task_state or "default", tasks["default"])


POWER_STATE_NAMES = {0: "NOSTATE", 1: "RUNNING", 3: "PAUSED", 4: "SHUTDOWN", 6: "CRASHED", 7: "SUSPENDED"}
