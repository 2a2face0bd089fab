"""The hypervisor driver interface: the contract every compute driver is held to.

A compute agent owns one hypervisor host and talks to it only through a ``ComputeDriver``.
The contract is written for the hard case — a real QEMU/KVM host — where spawning is slow
and can fail halfway, guests change power state on their own (they crash, an operator runs
``virsh shutdown``), and a message can be delivered twice. The fake driver
(onestack/compute/virt/fake.py) simulates exactly this; tests/contract/test_compute_drivers.py
runs one suite over every driver.

Rules that hold for every method unless its docstring says otherwise:

- Guests are named by instance uuid. A uuid the hypervisor does not know raises
  ``InstanceNotFound`` (``destroy`` and ``confirm_migration`` are the exceptions: for them a
  missing guest is success).
- Operations on one uuid are serialised by the driver; operations on different uuids may run
  concurrently. Every method is a coroutine and never blocks the event loop.
- Actions are idempotent in their end state: asking for the state a guest is already in
  succeeds and changes nothing. An action that cannot apply to the guest's current power state
  raises ``InvalidPowerState`` and changes nothing.
- A failed call raises a ``DriverError`` subclass and leaves the guest as it was before the
  call, or — for calls that create something — leaves nothing behind.
- If the calling task is cancelled, the same cleanup as for a failure happens before the
  ``CancelledError`` propagates.
- The driver keeps no database. What it reports (``list_instances``, power states, host usage)
  is what the hypervisor observes now; the agent's reconcile loop compares it with the desired
  state and converges.
- Guests outlive the agent. A driver built again for the same host (the agent restarted) sees
  every guest in the power state it had, with its console log, its resources and any disks a
  resize set aside — as libvirt's domains keep running while nova-compute restarts. Work that
  was in flight (a spawn, a live migration being prepared) need not survive; the reconcile loop
  redoes it.

Optional abilities are separate Protocols (``Pausable``, ``Suspendable``, ...). Callers test
for them with ``isinstance(driver, Pausable)`` and answer "not supported" otherwise.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from onestack.core.rpc import remote_error


class PowerState(IntEnum):
    """Nova's power state numbers, as stored on instances and shown as OS-EXT-STS:power_state."""

    NOSTATE = 0  # unknown, or the guest is still being built
    RUNNING = 1
    PAUSED = 3
    SHUTDOWN = 4
    CRASHED = 6
    SUSPENDED = 7


# --- errors ---------------------------------------------------------------------------------
# All registered with the bus: an agent's caller catches them by class (core/rpc.py).

@remote_error
class DriverError(Exception):
    """A driver operation failed; the message is safe to show to an operator."""


@remote_error
class InstanceNotFound(DriverError):
    """The hypervisor does not know a guest with this uuid."""

    def __init__(self, uuid: str) -> None:
        super().__init__(f"instance {uuid} not found on this host")
        self.uuid = uuid


@remote_error
class InvalidPowerState(DriverError):
    """The action does not apply to the guest's current power state."""


@remote_error
class InsufficientResources(DriverError):
    """The host cannot fit the guest (vcpus, memory or disk). Nothing was allocated."""


@remote_error
class ImageUnusable(DriverError):
    """The image file given to spawn/rescue is missing or unreadable."""


@remote_error
class SpawnFailed(DriverError):
    """The guest could not be created; everything spawn made has been removed."""


@remote_error
class MigrationError(DriverError):
    """A resize, cold or live migration step failed; see the method for what is left behind."""


@remote_error
class ConsoleUnavailable(DriverError):
    """The guest has no console of that kind right now (e.g. it is not running)."""


@remote_error
class NotSupported(DriverError):
    """The driver lacks the optional ability an action needs (Nova's NotImplementedError)."""


@remote_error
class PasswordSetFailed(DriverError):
    """The guest's password could not be set (Nova's InstancePasswordSetFailed: the API answers 409)."""


# --- data -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class InstanceSpec:
    """What to build: the instance's identity and its flavor's sizes."""

    uuid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int = 0
    swap_mb: int = 0
    image_ref: str = ""
    user_data: str | None = None  # base64 text, as the API received it
    key_data: str | None = None  # the public key to inject, if any
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def disk_gb(self) -> int:
        """Local disk the guest takes: root + ephemeral + swap rounded up to whole GiB (as placement's DISK_GB)."""
        return self.root_gb + self.ephemeral_gb + math.ceil(self.swap_mb / 1024)


@dataclass(frozen=True)
class HostInfo:
    """The host as the hypervisor reports it.

    Totals are the physical capacity. Used values are what the guests this driver knows have
    been given (any power state — a stopped guest keeps its disk and its claim), plus what the
    host keeps for itself; they are the driver's accounting, not a measurement.
    """

    hypervisor_type: str  # "fake", "QEMU", ...
    hypervisor_version: int  # Nova's integer encoding: major*1000000 + minor*1000 + patch
    hypervisor_hostname: str
    host_ip: str
    cpu_info: dict[str, Any]  # arch, model, vendor, topology {sockets, cores, threads}, features
    vcpus: int
    memory_mb: int
    local_gb: int
    vcpus_used: int
    memory_mb_used: int
    local_gb_used: int
    running_vms: int  # guests the hypervisor knows, whatever their power state
    # Capability traits of the compute node's provider (Nova's driver capabilities as traits,
    # e.g. COMPUTE_VOLUME_MULTI_ATTACH for supports_multiattach).
    traits: frozenset[str] = frozenset()

    @property
    def free_memory_mb(self) -> int:
        return self.memory_mb - self.memory_mb_used

    @property
    def free_disk_gb(self) -> int:
        return self.local_gb - self.local_gb_used


@dataclass(frozen=True)
class CpuDiagnostics:
    id: int
    time: int  # nanoseconds of CPU time used
    utilisation: int | None = None  # percent


@dataclass(frozen=True)
class NicDiagnostics:
    mac_address: str
    rx_octets: int = 0
    rx_errors: int = 0
    rx_drop: int = 0
    rx_packets: int = 0
    rx_rate: int | None = None
    tx_octets: int = 0
    tx_errors: int = 0
    tx_drop: int = 0
    tx_packets: int = 0
    tx_rate: int | None = None


@dataclass(frozen=True)
class DiskDiagnostics:
    read_bytes: int = 0
    read_requests: int = 0
    write_bytes: int = 0
    write_requests: int = 0
    errors_count: int = 0


@dataclass(frozen=True)
class Diagnostics:
    """One guest's diagnostics in the shape of Nova's standard (microversion 2.48) response."""

    state: PowerState
    driver: str  # "fake", "libvirt"
    hypervisor: str | None
    hypervisor_os: str | None
    uptime: int | None  # seconds since the guest last booted
    config_drive: bool
    num_cpus: int
    num_nics: int
    num_disks: int
    memory_details: dict[str, int]  # {"maximum": MiB, "used": MiB}
    cpu_details: list[CpuDiagnostics] = field(default_factory=list)
    nic_details: list[NicDiagnostics] = field(default_factory=list)
    disk_details: list[DiskDiagnostics] = field(default_factory=list)

    def as_api_dict(self) -> dict[str, Any]:
        """The body of GET /servers/{id}/diagnostics; state is Nova's lower-case name."""
        body = asdict(self)
        body["state"] = self.state.name.lower().replace("nostate", "pending")
        return body


@dataclass(frozen=True)
class ConsoleInfo:
    """Where a console proxy connects for this guest's remote console."""

    host: str
    port: int
    internal_access_path: str | None = None


@dataclass(frozen=True)
class MigrationDisks:
    """What the source hands the destination in a cold migration/resize. Opaque to the caller."""

    source_host: str
    instance_uuid: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LiveMigrationData:
    """What the destination's checks hand the source in a live migration. Opaque to the caller."""

    dest_host: str
    instance_uuid: str
    block_migration: bool
    data: dict[str, Any] = field(default_factory=dict)


NetworkInfo = list[dict[str, Any]]  # the ports to wire: [{"id", "mac_address", "fixed_ips", ...}]
BlockDeviceInfo = dict[str, Any]  # volumes to attach at boot: {"block_device_mapping": [...]}


# --- the interface --------------------------------------------------------------------------

@runtime_checkable
class ComputeDriver(Protocol):
    """The abilities every hypervisor driver has. See the module docstring for the shared rules."""

    async def host_info(self) -> HostInfo:
        """The host's identity, totals and current usage. Cheap enough to call every minute."""
        ...

    async def list_instances(self) -> list[str]:
        """Uuids of every guest the hypervisor knows, any power state, including guests being
        built and guests onestack did not create. Order is unspecified."""
        ...

    async def spawn(self, instance: InstanceSpec, image_path: Path | None,
                    network_info: NetworkInfo | None = None,
                    block_device_info: BlockDeviceInfo | None = None) -> None:
        """Create the guest from ``image_path`` (a local disk image file; None when it boots
        from a volume) and start it.

        On return the guest is in ``list_instances``, its power state is RUNNING and
        ``host_info`` counts its resources once. While spawn is in flight the uuid may appear
        with power state NOSTATE.

        Safe to retry: if a guest with this uuid already exists, no second guest is made and its
        resources are not counted twice; spawn only starts it if it is not running.

        Raises ``InsufficientResources`` when the host cannot fit it, ``ImageUnusable`` when the
        image file is missing or unreadable, ``SpawnFailed`` for anything else. Every failure
        (and cancellation) removes all that this call created — disks, definitions, resource
        usage — before the exception propagates, so the uuid is not listed afterwards.
        """
        ...

    async def destroy(self, uuid: str) -> None:
        """Stop the guest hard and remove it with its local disks; release its resources.

        Idempotent: destroying a guest the hypervisor does not know succeeds. Never waits for the
        guest OS. Waits for an operation in flight on the same uuid; to abandon a slow spawn,
        cancel its task (spawn then cleans up) instead. Data set aside by
        ``Resizable.migrate_disk_and_power_off`` is not touched: ``confirm_migration`` /
        ``finish_revert_migration`` own it.
        """
        ...

    async def power_off(self, uuid: str, timeout: float = 60.0) -> None:
        """Shut the guest down; afterwards its power state is SHUTDOWN.

        The guest OS is asked first (ACPI) and given up to ``timeout`` seconds; then it is
        stopped hard. ``timeout=0`` stops it hard at once. Works from any power state; a guest
        already SHUTDOWN is left alone. A suspended guest's saved memory is discarded.
        """
        ...

    async def power_on(self, uuid: str) -> None:
        """Start the guest; afterwards its power state is RUNNING.

        From SHUTDOWN or CRASHED it boots again; from PAUSED or SUSPENDED it continues where it
        was; RUNNING is left alone. Raises ``InsufficientResources`` if the host can no longer
        start it (nothing changes then).
        """
        ...

    async def reboot(self, uuid: str, hard: bool) -> None:
        """Restart the guest; afterwards its power state is RUNNING and it has booted again.

        Soft: the guest OS is asked to restart; if it does not within the driver's wait, or the
        guest is not running, the driver falls back to a hard reboot. Hard: the guest is reset
        (stopped and started) from any power state — the way to recover a CRASHED guest.
        """
        ...

    async def get_power_state(self, uuid: str) -> PowerState:
        """The guest's power state as the hypervisor sees it now (it may have changed on its
        own since the last call). NOSTATE while it is being built."""
        ...

    async def get_console_output(self, uuid: str) -> str:
        """The guest's serial console log so far, oldest first. The driver may drop the oldest
        part to keep at most a bounded amount (at least 64 KiB is kept)."""
        ...

    async def get_diagnostics(self, uuid: str) -> Diagnostics:
        """Counters for one guest: state, cpus, memory, nics and disks (Nova 2.48 shape)."""
        ...


# --- optional abilities ---------------------------------------------------------------------

@runtime_checkable
class Pausable(Protocol):
    async def pause(self, uuid: str) -> None:
        """Freeze the guest in memory: RUNNING → PAUSED. PAUSED is left alone; any other
        state raises ``InvalidPowerState``."""
        ...

    async def unpause(self, uuid: str) -> None:
        """PAUSED → RUNNING. RUNNING is left alone; any other state raises ``InvalidPowerState``."""
        ...


@runtime_checkable
class Suspendable(Protocol):
    async def suspend(self, uuid: str) -> None:
        """Save the guest's memory to disk and stop it: RUNNING or PAUSED → SUSPENDED. Resources
        stay claimed. SUSPENDED is left alone; other states raise ``InvalidPowerState``."""
        ...

    async def resume(self, uuid: str) -> None:
        """SUSPENDED → RUNNING, continuing where it was. RUNNING is left alone; other states
        raise ``InvalidPowerState``."""
        ...


@runtime_checkable
class Snapshottable(Protocol):
    async def snapshot(self, uuid: str) -> Path:
        """Copy the guest's root disk to a new qcow2 file and return its path.

        The caller owns the file (it uploads it to the image service, then deletes it). The
        guest ends in the power state it had before (it may be paused briefly). On failure no
        file is left behind.
        """
        ...


@runtime_checkable
class Resizable(Protocol):
    """Cold migration and resize: source powers off and sets its disks aside; destination
    builds the guest from them; then the source either discards (confirm) or restores
    (revert) them. Source and destination may be the same host."""

    async def migrate_disk_and_power_off(self, uuid: str, new: InstanceSpec, dest_host: str,
                                         timeout: float = 60.0) -> MigrationDisks:
        """On the source: power the guest off (as ``power_off``), set its disks aside and
        remove its definition, so the uuid is no longer listed here. The set-aside disks keep
        the old size's resources claimed until confirm or revert. Raises ``MigrationError``
        (guest left as it was) if it cannot, e.g. when ``new`` shrinks the root disk."""
        ...

    async def finish_migration(self, instance: InstanceSpec, disks: MigrationDisks,
                               network_info: NetworkInfo | None = None,
                               block_device_info: BlockDeviceInfo | None = None,
                               power_on: bool = True) -> None:
        """On the destination: define the guest with the new sizes from ``disks`` and start it
        if ``power_on`` (else leave it SHUTDOWN). Same guarantees as ``spawn``: safe to retry,
        ``InsufficientResources`` if it does not fit, nothing left behind on failure."""
        ...

    async def finish_revert_migration(self, instance: InstanceSpec,
                                      network_info: NetworkInfo | None = None,
                                      block_device_info: BlockDeviceInfo | None = None,
                                      power_on: bool = True) -> None:
        """On the source, after the destination destroyed its copy: redefine the guest with
        its old sizes from the set-aside disks and start it if ``power_on``. If the guest is
        already defined here this only applies ``power_on``. Raises ``MigrationError`` if
        nothing was set aside for it."""
        ...

    async def confirm_migration(self, uuid: str) -> None:
        """On the source: discard the set-aside disks and release their resources.
        Idempotent: nothing set aside is success."""
        ...


@runtime_checkable
class Rescuable(Protocol):
    async def rescue(self, uuid: str, rescue_image_path: Path | None,
                     rescue_password: str | None = None) -> None:
        """Boot the guest from a rescue image with its own disk attached second; afterwards it
        is RUNNING and rescued. Already rescued: left alone. On failure the guest is restored."""
        ...

    async def unrescue(self, uuid: str) -> None:
        """Boot the guest from its own disk again; afterwards it is RUNNING and not rescued.
        Not rescued: left alone."""
        ...


@runtime_checkable
class LiveMigratable(Protocol):
    """Moving a running guest between hosts. Order: destination ``check_can_live_migrate``,
    destination ``pre_live_migration``, source ``live_migration``, then on the destination
    ``post_live_migration_at_destination`` on success or
    ``rollback_live_migration_at_destination`` on failure."""

    async def check_can_live_migrate(self, instance: InstanceSpec,
                                     block_migration: bool) -> LiveMigrationData:
        """On the destination: check it can host the guest (resources, compatible CPU);
        raise ``MigrationError`` or ``InsufficientResources`` if not. Claims nothing."""
        ...

    async def pre_live_migration(self, instance: InstanceSpec, data: LiveMigrationData,
                                 network_info: NetworkInfo | None = None,
                                 block_device_info: BlockDeviceInfo | None = None) -> None:
        """On the destination: claim the guest's resources and prepare its disks so the
        incoming guest can land. Safe to retry."""
        ...

    async def live_migration(self, uuid: str, data: LiveMigrationData, timeout: float = 600.0) -> None:
        """On the source: move the running guest to ``data.dest_host`` with no visible
        downtime. On success the guest is gone from this host (resources released) and runs
        on the destination in the same power state. On failure or after ``timeout`` seconds
        the migration is aborted, ``MigrationError`` is raised and the guest keeps running
        here, untouched; the caller then rolls back the destination."""
        ...

    async def post_live_migration_at_destination(self, uuid: str,
                                                 network_info: NetworkInfo | None = None) -> None:
        """On the destination after success: finish wiring (e.g. activate ports). Idempotent."""
        ...

    async def rollback_live_migration_at_destination(self, uuid: str) -> None:
        """On the destination after failure: release what ``pre_live_migration`` prepared.
        Idempotent; never touches a guest that actually landed and runs here."""
        ...


@runtime_checkable
class InterfaceAttachable(Protocol):
    """Hot-plugging ports into a running (or stopped) guest: os-interface attach and detach.
    ``vif`` is one entry of the server's NetworkInfo (``id`` is the port's)."""

    async def attach_interface(self, uuid: str, vif: dict[str, Any]) -> None:
        """Plug the port into the guest. Already plugged (same port id): left alone."""
        ...

    async def detach_interface(self, uuid: str, vif: dict[str, Any]) -> None:
        """Unplug the port from the guest. Not plugged: nothing to do."""
        ...


@runtime_checkable
class VolumeAttachable(Protocol):
    """Volumes into a guest: ``connection_info`` is what the block-storage service answered for
    this host's connector (``driver_volume_type`` and its ``data``); ``device`` the guest's name
    for the disk (``/dev/vdb``)."""

    async def attach_volume(self, uuid: str, connection_info: dict[str, Any], device: str) -> None:
        """Connect the volume and plug it into the guest as ``device``. Already there: replaced."""
        ...

    async def detach_volume(self, uuid: str, device: str) -> None:
        """Unplug the disk from the guest. Not there (or no such guest): nothing to do."""
        ...


@runtime_checkable
class VolumeExtendable(Protocol):
    """An attached volume grew (the block-storage service resized it, then told compute with the
    ``volume-extended`` external event): the guest is made to see the new size."""

    async def extend_volume(self, uuid: str, connection_info: dict[str, Any], device: str, new_size: int) -> None:
        """The disk plugged as ``device`` is now ``new_size`` bytes. Not plugged into the guest:
        ``DriverError`` (Nova's compute records the event as failed)."""
        ...


@runtime_checkable
class RemoteConsoles(Protocol):
    async def get_vnc_console(self, uuid: str) -> ConsoleInfo:
        """Where the VNC server of this guest listens. Raises ``ConsoleUnavailable`` unless
        the guest is RUNNING or PAUSED."""
        ...
