"""The block-storage service's messages on the bus, declared once.

Three topics (``core/rpc.py``):

- ``volume-scheduler`` (``VolumeSchedulerAPI``): the API asks the scheduler to place a new
  volume (a cast: the scheduler filters and weighs the reported pools, writes the volume's
  ``host`` and casts to that host's agent, or marks the volume ``error`` with a user message).
- ``volume-agent.<host>`` (``VolumeAgentAPI``, routed by agent host): the work on a host's
  disks. Casts report back through ``VolumeServerAPI``; the few calls (connections) answer.
- ``volume-server`` (``VolumeServerAPI``): what agents tell the side with the database — their
  services and pools, the end of each piece of work, and (for their reconcile pass) what
  their host should have. Served by ``volume/server_rpc.py`` in every process that runs the
  volume API. Agents hold no database credentials.

Everything that travels is plain JSON: the shapes below.
"""

# The declarations have no bodies: core.rpc sends the message instead of running them.
# mypy: disable-error-code="empty-body"

from __future__ import annotations

from typing import Any, NotRequired, TypedDict

from onestack.core.rpc import RpcAPI, call, cast, fanout

# --- the shapes that travel -------------------------------------------------------------------


class VolumeSpec(TypedDict):
    """A volume as an agent needs it."""

    id: str
    size: int  # GiB
    host: str  # agent_host@backend#pool
    status: str
    provider_location: str | None
    volume_type_id: str
    extra_specs: dict[str, str]
    multiattach: bool


class SnapshotSpec(TypedDict):
    id: str
    volume_id: str
    volume_size: int
    status: str
    provider_location: str | None


class SourceSpec(TypedDict, total=False):
    """What a new volume is made from; absent for a blank one. One of the ids is set."""

    snapshot: SnapshotSpec
    volume: VolumeSpec
    image_id: str
    backup: BackupSpec


class BackupSpec(TypedDict):
    id: str
    volume_id: str
    snapshot_id: str | None
    status: str
    size: int
    container: str | None  # where the store keeps it
    parent_id: str | None  # the backup an incremental one builds on
    is_incremental: bool


class ModelUpdate(TypedDict, total=False):
    """What an agent's work changed on a row, besides its status."""

    provider_location: str
    size: int
    bootable: bool
    image_metadata: dict[str, str]  # volume_image_metadata of a volume made from an image
    object_count: int
    container: str


class ConnectionInfo(TypedDict):
    """How a consumer reaches the volume (Cinder's connection_info): for the file driver,
    ``driver_volume_type`` ``file`` (or ``local``) and ``data.device_path``/``data.format``."""

    driver_volume_type: str
    data: dict[str, Any]


class PoolReport(TypedDict):
    name: str  # host@backend#pool
    total_capacity_gb: float
    free_capacity_gb: float
    allocated_capacity_gb: float
    provisioned_capacity_gb: float
    reserved_percentage: int
    max_over_subscription_ratio: float
    thin_provisioning_support: bool
    thick_provisioning_support: bool
    capabilities: dict[str, Any]  # volume_backend_name, storage_protocol, vendor_name, driver_version…


class BackendReport(TypedDict):
    """One ``cinder-volume`` service (``host@backend``) and its pools."""

    backend_host: str  # agent_host@backend
    availability_zone: str
    pools: list[PoolReport]


class DesiredState(TypedDict):
    """What the database says a host has, for the agent's reconcile pass."""

    volumes: list[VolumeSpec]  # every volume placed on the host's backends
    snapshots: list[SnapshotSpec]  # every snapshot of those volumes
    backups: list[BackupSpec]  # every backup the host made
    # Volumes being migrated onto the host, as the target's create_volume has them.
    migrations: NotRequired[list[VolumeSpec]]
    # Volumes on the host in a migration now (attached ones included): their disk on another
    # backend is the migration's, not a leftover to remove.
    moving: NotRequired[list[str]]


class RequestSpec(TypedDict):
    """What the scheduler places (Cinder's request_spec)."""

    volume_id: str
    size: int
    volume_type_id: str
    extra_specs: dict[str, str]
    availability_zone: str | None
    multiattach: bool
    # Where it must go: a clone or a volume from a snapshot stays on its source's backend.
    same_backend_as: str | None
    source: SourceSpec


# --- the scheduler --------------------------------------------------------------------------------


class VolumeSchedulerAPI(RpcAPI):
    topic = "volume-scheduler"
    version = "1.0"

    @cast
    async def create_volume(self, spec: RequestSpec) -> None:
        """Place the volume (in ``creating``) on a pool and cast ``create_volume`` to its agent;
        none fits → the volume goes to ``error`` with a user message."""

    @cast
    async def retype(self, volume_id: str, new_type_id: str, migration_policy: str) -> None:
        """Find a pool for the new type: the same backend keeps the data in place, another
        (policy ``on-demand``) migrates it there; none → the volume returns to its previous status."""

    @cast
    async def migrate_volume(self, volume_id: str, host: str) -> None:
        """An admin's ``os-migrate_volume`` (``starting``): when ``host`` (a pool, or a backend)
        passes the volume's type, cast the copy to its agent; else ``migration_status`` ``error``."""


# --- the agents -----------------------------------------------------------------------------------


class VolumeAgentAPI(RpcAPI):
    topic = "volume-agent"
    version = "1.0"
    route_by = "host"

    @cast
    async def create_volume(self, host: str, volume: VolumeSpec, source: SourceSpec) -> None:
        """Make the volume's disk (blank, or from the source); then ``volume_created``."""

    @cast
    async def delete_volume(self, host: str, volume: VolumeSpec) -> None:
        """Remove the volume's disk (gone already is fine); then ``volume_deleted``."""

    @cast
    async def extend_volume(self, host: str, volume: VolumeSpec, new_size: int) -> None:
        """Grow the disk; then ``volume_extended``."""

    @cast
    async def create_snapshot(self, host: str, snapshot: SnapshotSpec, volume: VolumeSpec) -> None:
        """Take the snapshot; then ``snapshot_created``."""

    @cast
    async def delete_snapshot(self, host: str, snapshot: SnapshotSpec, volume: VolumeSpec) -> None:
        """Drop the snapshot; then ``snapshot_deleted``."""

    @cast
    async def revert_to_snapshot(self, host: str, volume: VolumeSpec, snapshot: SnapshotSpec) -> None:
        """Put the snapshot's data back into the volume; then ``volume_reverted``."""

    @call
    async def initialize_connection(self, host: str, volume: VolumeSpec, connector: dict[str, Any]) -> ConnectionInfo:
        """Export the volume to the connector's host; returns how to reach it."""

    @call
    async def update_migrated_volume(self, host: str, volume: VolumeSpec, new_volume: VolumeSpec) -> ModelUpdate:
        """An attached volume's migration is complete: its target's disk takes the volume's name."""

    @call
    async def terminate_connection(self, host: str, volume: VolumeSpec, connector: dict[str, Any]) -> None:
        """Stop exporting the volume to the connector's host."""

    @cast
    async def copy_volume_to_image(self, host: str, volume: VolumeSpec, image_id: str, disk_format: str) -> None:
        """Upload the volume's data into the (queued) image, streamed; then ``image_uploaded``."""

    @cast
    async def reimage(self, host: str, volume: VolumeSpec, image_id: str) -> None:
        """Replace the volume's data with the image's (os-reimage); then ``volume_reimaged``."""

    @cast
    async def create_backup(self, host: str, backup: BackupSpec, volume: VolumeSpec) -> None:
        """Copy the volume (or the backup's snapshot) into the backup store; then ``backup_created``."""

    @cast
    async def restore_backup(self, host: str, backup: BackupSpec, volume: VolumeSpec) -> None:
        """Write the backup's data into the volume; then ``backup_restored``."""

    @cast
    async def delete_backup(self, host: str, backup: BackupSpec) -> None:
        """Remove the backup from the store; then ``backup_deleted``."""

    @fanout
    async def resync(self, hosts: list[str] | None = None) -> None:
        """Reconcile now (every agent hears it; those not named ignore it)."""

    @cast
    async def manage_existing(self, host: str, volume: VolumeSpec, ref: dict[str, Any]) -> None:
        """Adopt the backend's disk ``ref`` names (Cinder's ``{"source-name": ...}``) as the
        volume (in ``managing``): it takes the volume's name, its size is the disk's rounded up
        to GiB; then ``volume_managed``."""

    @cast
    async def manage_existing_snapshot(self, host: str, snapshot: SnapshotSpec, volume: VolumeSpec,
                                       ref: dict[str, Any]) -> None:
        """Adopt the backend's snapshot ``ref`` names as the snapshot (in ``managing``) of the
        volume; then ``snapshot_managed``."""

    @call
    async def list_manageable(self, host: str, backend: str, kind: str) -> list[dict[str, Any]]:
        """The disks (``kind`` ``volumes``) or snapshots (``snapshots``) of the backend, every
        one: ``{"reference": {"source-name": ...}, "size": GiB}``; the server marks those that
        have a row."""


# --- the server -----------------------------------------------------------------------------------


class VolumeServerAPI(RpcAPI):
    topic = "volume-server"
    version = "1.0"

    @call
    async def report_state(self, host: str, backends: list[BackendReport]) -> None:
        """A heartbeat with capacity: upsert the backends' ``cinder-volume`` services and pools."""

    @call
    async def desired_state(self, host: str) -> DesiredState:
        """Everything the database places on ``host``'s backends."""

    @call
    async def volume_created(self, volume_id: str, update: ModelUpdate, error: str | None) -> None:
        """``available`` (with the update), or ``error`` and a user message."""

    @call
    async def volume_deleted(self, volume_id: str, error: str | None) -> None:
        """The row goes (quota with it), or ``error_deleting``."""

    @call
    async def volume_extended(self, volume_id: str, new_size: int, error: str | None) -> None:
        """The new size (and compute hears ``volume-extended`` for an attached one), or
        ``error_extending``."""

    @call
    async def volume_reverted(self, volume_id: str, snapshot_id: str, error: str | None) -> None:
        """Both back to ``available``; on failure the volume to ``error``."""

    @call
    async def volume_reimaged(self, volume_id: str, update: ModelUpdate, error: str | None) -> None:
        """Back to the previous status with the image's metadata (compute hears ``volume-reimaged``
        for a reserved one), or ``error``."""

    @call
    async def snapshot_created(self, snapshot_id: str, update: ModelUpdate, error: str | None) -> None:
        """``available`` and 100%, or ``error``."""

    @call
    async def snapshot_deleted(self, snapshot_id: str, error: str | None) -> None:
        """The row goes, or ``error_deleting``."""

    @call
    async def image_uploaded(self, volume_id: str, image_id: str, error: str | None) -> None:
        """The volume back to its previous status; on failure a user message (and the image deleted)."""

    @call
    async def backup_created(self, backup_id: str, update: ModelUpdate, error: str | None) -> None:
        """``available`` (its volume back to its previous status), or ``error`` with fail_reason."""

    @call
    async def backup_restored(self, backup_id: str, volume_id: str, error: str | None) -> None:
        """Backup and volume ``available``, or the volume ``error_restoring``."""

    @call
    async def backup_deleted(self, backup_id: str, error: str | None) -> None:
        """The row goes, or ``error`` with fail_reason (as Cinder's backup manager: deletable again)."""

    @call
    async def volume_managed(self, volume_id: str, update: ModelUpdate, error: str | None) -> None:
        """``managing`` → ``available`` with the disk's size, or ``error_managing``."""

    @call
    async def snapshot_managed(self, snapshot_id: str, update: ModelUpdate, error: str | None) -> None:
        """``managing`` → ``available`` and 100% with the snapshot's size, or ``error_managing``."""
