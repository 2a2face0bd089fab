"""Compute's messages on the bus, declared once: the conductor, the scheduler and each host's agent.

Each class is the whole of one topic (``core/rpc.py``): callers hold an instance bound to a bus
and call its methods; the service serves the same class with the objects that implement it
(checked when serving starts). Arguments and replies are JSON-safe; the shapes that travel
between services are named here once. Failures come back as their own classes, registered where
they are defined: ``UnexpectedTaskState`` and ``InstanceGone`` (``service/instances.py``: a
conditional row write lost), ``NoValidHost`` (``scheduler/select.py``), the driver's errors
(``virt/driver.py``) and the agent's diagnostics errors (``agent/info.py``).
"""

# The declarations have no bodies: core.rpc sends the message instead of running them.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

from typing import Any, Literal, Required, TypedDict

from onestack.core.rpc import RpcAPI, call, cast

# --- the shapes that travel -------------------------------------------------------------------

InstanceDict = dict[str, Any]
"""A server as ``service.instances.to_dict`` makes it: every column of ``compute_instances``
by name (``metadata`` for the user metadata, dates as ISO 8601 strings, ``flavor`` a FlavorDict).
A copy as of when it was sent: receivers re-check the row's state through conditional writes."""

MigrationDict = dict[str, Any]
"""A migration as ``api.migrations.migration_dict`` / ``conductor.actions.migration_dict`` make it:
every column of ``compute_migrations`` by name, dates as ISO 8601 strings."""

FlavorDict = dict[str, Any]
"""The flavor embedded in a server: flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb,
swap, rxtx_factor, extra_specs, description."""

NodeDict = dict[str, Any]
"""A compute node as an agent reports it (``agent.resources.node_record``): the columns of
``compute_nodes`` plus ``started`` (true on the agent's first report)."""

MigrateData = dict[str, Any]
"""``virt.driver.LiveMigrationData`` as a dict: the destination's answer to its checks."""

DisksDict = dict[str, Any]
"""``virt.driver.MigrationDisks`` as a dict: what a resize's source hands its destination."""

DiagnosticsDict = dict[str, Any]
"""``virt.driver.Diagnostics.as_api_dict()``: the 2.48 diagnostics document."""


class Alternate(TypedDict):
    host: str
    node: str
    rp_uuid: str


class Destination(Alternate):
    """One scheduled instance: where it was claimed, and the hosts kept for a reschedule."""

    availability_zone: str
    alternates: list[Alternate]


class ScheduleRequest(TypedDict, total=False):
    """What ``select_destinations`` is asked."""

    instance_uuids: Required[list[str]]
    ignore_hosts: list[str]
    consumer: str  # claim under this uuid instead of the instance's
    flavor: FlavorDict  # instead of the instances' own (a resize)
    force_hosts: list[str]  # replace the boot request's forced hosts; forced hosts skip the filters
    force_nodes: list[str]
    requested_host: str | None  # only this host is considered; the filters still run
    replace_claim: bool  # the caller holds the build lease: a claim the instance already holds is replaced


class FinishedEvent(TypedDict, total=False):
    """An instance-action event recorded as finished together with a row update."""

    request_id: Required[str | None]
    name: Required[str]
    started: str | None
    host: str | None
    result: str
    message: str | None


class Fault(TypedDict, total=False):
    code: Required[int]
    message: Required[str]
    details: str
    host: str


class ServiceFlags(TypedDict):
    disabled: bool
    forced_down: bool


class Location(TypedDict):
    host: str | None
    task_state: str | None


class VncConsole(TypedDict):
    host: str
    port: int
    internal_access_path: str | None


MoveAllocationAction = Literal["release", "revert"]


# --- the conductor ------------------------------------------------------------------------------

class ConductorAPI(RpcAPI):
    """What the API and the agents ask the conductor, the only one of them that writes rows.

    Served by ``conductor.manager.ConductorManager`` with its parts (``conductor/actions.py``
    moves, ``conductor/shelve.py`` shelving). Several conductors may serve it at once."""

    topic = "conductor"
    version = "1.0"

    # builds (conductor/manager.py)
    @cast
    async def build_instances(self, instance_uuids: list[str], request_id: str | None) -> None:
        """Schedule the boot request's rows and cast each to its host; a repeat is ignored."""

    @call
    async def build_failed(self, uuid: str, host: str, reason: str, request_id: str | None,
                           reschedule: bool = True) -> None:
        """The agent on ``host`` could not build it: try an untried host, else ERROR."""

    # row writes agents ask for (conductor/manager.py)
    @call
    async def instance_update(self, uuid: str, values: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              expected_vm_state: list[str] | None = None,
                              event: FinishedEvent | None = None, expected_host: str | None = None) -> InstanceDict:
        """The updated row; UnexpectedTaskState / InstanceGone when it moved on (another state, or
        with ``expected_host`` placed elsewhere). ``event`` is recorded as finished in the same
        transaction."""

    @call
    async def instance_fault(self, uuid: str, code: int, message: str, details: str = "",
                             host: str | None = None) -> None: ...

    @call
    async def action_event(self, uuid: str, request_id: str | None, event: str, phase: str,
                           host: str | None = None, result: str = "Success", message: str | None = None) -> None:
        """``phase``: "start" or "finish"."""

    @call
    async def instance_destroyed(self, uuid: str, host: str) -> None:
        """The guest is gone: the row is soft-deleted and its claims released."""

    @call
    async def instances_on_host(self, host: str) -> list[InstanceDict]: ...

    @call
    async def instance_location(self, uuid: str) -> Location | None:
        """Where a live row says the server is; None when deleted or unknown."""

    @call
    async def service_report(self, host: str, binary: str, node: NodeDict | None) -> ServiceFlags: ...

    @call
    async def migration_update(self, migration_uuid: str, values: dict[str, Any]) -> None: ...

    # moves (conductor/actions.py)
    @cast
    async def migrate_server(self, uuid: str, migration_uuid: str, flavor: FlavorDict,
                             requested_host: str | None = None, request_id: str | None = None) -> None: ...

    @call
    async def live_migrate_instance(self, uuid: str, migration_uuid: str, host: str | None = None,
                                    force: bool = False, block_migration: bool | None = None,
                                    request_id: str | None = None) -> str | None:
        """Checks and scheduling while the caller waits (before 2.34): None when handed over to
        the source, else why not."""

    @cast
    async def start_live_migration(self, uuid: str, migration_uuid: str, host: str | None = None,
                                   force: bool = False, block_migration: bool | None = None,
                                   request_id: str | None = None) -> None:
        """The same without waiting (2.34+): failures show on the migration."""

    @cast
    async def evacuate_instance(self, uuid: str, migration_uuid: str, host: str | None = None,
                                force: bool = False, target_state: str | None = None,
                                request_id: str | None = None) -> None: ...

    @call
    async def move_update(self, uuid: str, migration_uuid: str, instance: dict[str, Any] | None = None,
                          expected_task_state: list[str | None] | None = None,
                          expected_vm_state: list[str] | None = None, migration: dict[str, Any] | None = None,
                          landed_on: str | None = None, fault: Fault | None = None) -> InstanceDict: ...

    @call
    async def move_allocations(self, uuid: str, migration_uuid: str, action: MoveAllocationAction) -> None: ...

    @call
    async def complete_evacuations(self, host: str) -> int: ...

    # shelving (conductor/shelve.py)
    @call
    async def instance_meta_update(self, uuid: str, values: dict[str, Any],
                                   expected_task_state: list[str | None] | None = None,
                                   meta_set: dict[str, Any] | None = None,
                                   meta_drop: list[str] | None = None) -> InstanceDict: ...

    @call
    async def shelve_offloaded(self, uuid: str, host: str, power_state: int) -> None: ...

    @call
    async def unshelve_failed(self, uuid: str, host: str, reason: str) -> None: ...

    @cast
    async def unshelve_instance(self, uuid: str, request_id: str | None = None, host: str | None = None) -> None: ...

    # volumes (conductor/manager.py)
    @call
    async def block_device_mappings(self, uuid: str) -> list[dict[str, Any]]:
        """The server's block device mappings (boot disk first), as the agent builds with them."""

    @call
    async def block_device_update(self, bdm_uuid: str, values: dict[str, Any]) -> None:
        """The agent's record of a mapping's volume, attachment, connection info and volume size."""


# --- the scheduler ------------------------------------------------------------------------------

class SchedulerAPI(RpcAPI):
    """Served by ``scheduler.manager.SchedulerManager``; any number may serve it at once."""

    topic = "scheduler"
    version = "1.0"

    @call
    async def select_destinations(self, spec: ScheduleRequest) -> list[Destination]:
        """One destination per instance, in order, each claimed in placement; NoValidHost."""


# --- each host's agent -------------------------------------------------------------------------

class AgentAPI(RpcAPI):
    """The agent of one host, topic ``compute.<host>``: every method names the host first.

    Served by ``agent.manager.ComputeAgent`` with its parts: ``agent/actions.py`` (server
    actions), ``agent/migrate.py`` (moves), ``agent/info.py`` (diagnostics) and
    ``agent/images.py`` (the image cache)."""

    topic = "compute"
    version = "1.0"
    route_by = "host"

    # build and delete (agent/manager.py)
    @cast
    async def build_and_run_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def terminate_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    # server actions (agent/actions.py)
    @cast
    async def start_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def stop_instance(self, host: str, instance: InstanceDict, request_id: str | None = None,
                            clean_shutdown: bool = True) -> None: ...

    @cast
    async def reboot_instance(self, host: str, instance: InstanceDict, reboot_type: str = "SOFT",
                              request_id: str | None = None) -> None: ...

    @cast
    async def pause_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def unpause_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def suspend_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def resume_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def rescue_instance(self, host: str, instance: InstanceDict, request_id: str | None = None,
                              rescue_password: str | None = None, rescue_image_ref: str | None = None) -> None: ...

    @cast
    async def unrescue_instance(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @cast
    async def snapshot_instance(self, host: str, instance: InstanceDict, image_id: str,
                                request_id: str | None = None) -> None: ...

    @cast
    async def backup_instance(self, host: str, instance: InstanceDict, image_id: str, backup_type: str,
                              rotation: int, request_id: str | None = None) -> None: ...

    @cast
    async def rebuild_instance(self, host: str, instance: InstanceDict, image_id: str, request_id: str | None = None,
                               orig_vm_state: str = "active", preserve_ephemeral: bool = False,
                               root_volume_image: str = "") -> None: ...

    @cast
    async def shelve_instance(self, host: str, instance: InstanceDict, image_id: str,
                              request_id: str | None = None) -> None: ...

    @cast
    async def shelve_offload_instance(self, host: str, instance: InstanceDict, request_id: str | None = None,
                                      clean_shutdown: bool = True) -> None: ...

    @cast
    async def unshelve_instance(self, host: str, instance: InstanceDict, image_id: str | None = None,
                                request_id: str | None = None) -> None: ...

    @cast
    async def trigger_crash_dump(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None: ...

    @call
    async def set_admin_password(self, host: str, instance: InstanceDict, password: str,
                                 request_id: str | None = None) -> None:
        """PasswordSetFailed (not running), NotSupported (the driver cannot)."""

    @call
    async def get_console_output(self, host: str, instance: InstanceDict, length: int | None = None) -> str:
        """InstanceNotFound when the hypervisor does not know the guest."""

    @call
    async def get_vnc_console(self, host: str, instance: InstanceDict) -> VncConsole:
        """NotSupported, InstanceNotFound, ConsoleUnavailable."""

    # diagnostics (agent/info.py)
    @call
    async def get_diagnostics(self, host: str, uuid: str) -> DiagnosticsDict:
        """InstanceInvalidState (not running), InstanceNotReady (not here), NotImplementedError."""

    # image pre-caching (agent/images.py)
    @cast
    async def cache_images(self, host: str, image_ids: list[str]) -> None: ...

    # resize and cold migration (agent/migrate.py)
    @cast
    async def resize_instance(self, host: str, instance: InstanceDict, migration: MigrationDict,
                              flavor: FlavorDict, request_id: str | None = None) -> None: ...

    @cast
    async def finish_resize(self, host: str, instance: InstanceDict, migration: MigrationDict, flavor: FlavorDict,
                            disks: DisksDict, request_id: str | None = None) -> None: ...

    @cast
    async def confirm_resize(self, host: str, instance: InstanceDict, migration: MigrationDict,
                             request_id: str | None = None) -> None: ...

    @call
    async def confirm_resize_and_wait(self, host: str, instance: InstanceDict, migration: MigrationDict,
                                      request_id: str | None = None) -> None:
        """``confirm_resize`` for a caller that must wait (deleting a resized server)."""

    @cast
    async def revert_resize(self, host: str, instance: InstanceDict, migration: MigrationDict,
                            request_id: str | None = None) -> None: ...

    @cast
    async def finish_revert_resize(self, host: str, instance: InstanceDict, migration: MigrationDict,
                                   request_id: str | None = None, failed: bool = False) -> None: ...

    # live migration (agent/migrate.py)
    @call
    async def check_can_live_migrate_destination(self, host: str, instance: InstanceDict,
                                                 block_migration: bool) -> MigrateData: ...

    @call
    async def pre_live_migration(self, host: str, instance: InstanceDict, migrate_data: MigrateData) -> None: ...

    @cast
    async def live_migration(self, host: str, instance: InstanceDict, migration: MigrationDict, dest: str,
                             migrate_data: MigrateData, request_id: str | None = None) -> None: ...

    @call
    async def post_live_migration_at_destination(self, host: str, instance: InstanceDict, migration: MigrationDict,
                                                 request_id: str | None = None) -> None: ...

    @call
    async def rollback_live_migration_at_destination(self, host: str, uuid: str) -> None: ...

    @cast
    async def live_migration_abort(self, host: str, uuid: str, migration_id: int) -> None: ...

    @cast
    async def live_migration_force_complete(self, host: str, uuid: str, migration_id: int) -> None: ...

    # ports (agent/interfaces.py)
    @cast
    async def external_instance_event(self, host: str, instance: InstanceDict,
                                      events: list[dict[str, Any]]) -> None:
        """network-vif-plugged (wakes a waiting spawn), network-changed / -vif-deleted (refresh
        the info cache), as the external events API accepted them."""

    @cast
    async def inject_network_info(self, host: str, instance: InstanceDict, request_id: str | None = None) -> None:
        """The admin's injectNetworkInfo: refresh the server's info cache from its ports."""

    @call
    async def attach_interface(self, host: str, instance: InstanceDict, network_id: str | None,
                               port_id: str | None, fixed_ip: str | None, tag: str | None = None) -> dict[str, Any]:
        """The attached port's NetworkInfo entry; NetworkError / NotSupported when it cannot be."""

    @call
    async def detach_interface(self, host: str, instance: InstanceDict, port_id: str) -> None:
        """PortNotAttached when the server has no such port."""

    # volumes (agent/volumes.py)
    @call
    async def attach_volume(self, host: str, instance: InstanceDict, bdm: dict[str, Any]) -> dict[str, Any]:
        """The mapping's attachment is given the host's connector, the driver plugs the disk and
        the attachment is completed; the connection_info. VolumeAttachFailed / NotSupported."""

    @call
    async def detach_volume(self, host: str, instance: InstanceDict, bdm: dict[str, Any]) -> None:
        """The driver unplugs the mapping's disk (the API then deletes the attachment)."""

    @cast
    async def swap_volume(self, host: str, instance: InstanceDict, old_volume_id: str, new_volume_id: str,
                          new_attachment_id: str) -> None:
        """Cinder's migration of an attached volume: the new attachment takes the host's connector,
        the driver plugs it at the old one's device, the old attachment goes, Cinder's
        ``os-migrate_volume_completion`` names the volume id the mapping keeps."""

    @cast
    async def extend_volume(self, host: str, instance: InstanceDict, volume_id: str,
                            request_id: str | None = None) -> None:
        """``volume-extended``: the mapping takes the volume's new size and the driver resizes the
        guest's disk; recorded as the ``compute_extend_volume`` event of the request's
        ``extend_volume`` action."""

    # evacuation (agent/migrate.py)
    @cast
    async def rebuild_evacuated(self, host: str, instance: InstanceDict, migration: MigrationDict,
                                target_state: str | None = None, request_id: str | None = None) -> None: ...
