"""A simulated hypervisor host: every ComputeDriver ability, no guests actually run.

It keeps real books — each guest's vcpus, memory and disk count against the host's configured
capacity until it is destroyed — so scheduling, quotas, migrations and evacuations behave as on
real hosts. To exercise the agent the way a QEMU/KVM host would, spawn can be made slow
(``spawn_latency``) and made to fail before or after resources are taken (``fail_spawn_for``,
``fail_spawn_probability``), and guests can change power state behind the agent's back
(``simulate_crash`` and friends), and destroy can be made to fail (``fail_destroy_for``).
Several fake hosts in one process share a ``FakeFabric`` so that live migration can move a guest
between them. What a guest does by itself (its console lines, power transitions, diagnostics) is
in ``fake_guest.py``; this module keeps the host's books and decides when each happens.

Given a ``state_dir``, a host keeps its guests on disk (``fake_state.py``) and a driver built
again on the same directory — the agent restarted — finds them as they were, as a real
hypervisor keeps its guests running while nova-compute restarts.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import tempfile
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from onestack.compute.virt.driver import (
    BlockDeviceInfo,
    ConsoleInfo,
    ConsoleUnavailable,
    Diagnostics,
    DriverError,
    HostInfo,
    InstanceNotFound,
    InstanceSpec,
    InsufficientResources,
    InvalidPowerState,
    LiveMigrationData,
    MigrationDisks,
    MigrationError,
    NetworkInfo,
    PowerState,
    SpawnFailed,
)
from onestack.compute.virt.fake_guest import (
    boot,
    check_image,
    diagnostics,
    halt,
    say,
    shutdown,
    start,
)
from onestack.compute.virt.fake_state import Guest, GuestFiles
from onestack.compute.virt.fake_vnc import FakeVncServer
from onestack.core import diskimage
from onestack.core.files import private_dir, write_private
from onestack.core.ids import new_id

log = logging.getLogger("onestack.compute.virt.fake")
FailStage = Literal["before_allocating", "after_allocating"]
# Nova's fake driver has supports_multiattach: one volume's connections on several guests.
CAPABILITY_TRAITS = frozenset({"COMPUTE_VOLUME_MULTI_ATTACH"})


@dataclass
class FakeHostConfig:
    """One simulated host. The failure knobs are read on every call, so tests may change them."""

    hostname: str = "fake-host"
    vcpus: int = 64
    memory_mb: int = 131072
    local_gb: int = 2048
    hypervisor_type: str = "fake"
    hypervisor_version: int = 1000
    host_ip: str = "127.0.0.1"
    spawn_latency: float = 0.0  # seconds each spawn takes, spent after resources are taken
    # Spawns of these instance names or uuids fail; so does each spawn with this probability.
    fail_spawn_for: set[str] = field(default_factory=set)
    fail_spawn_probability: float = 0.0
    fail_at: FailStage = "after_allocating"
    seed: int | None = None  # makes fail_spawn_probability repeatable
    # Guests (names or uuids) whose OS ignores ACPI: graceful power off waits the full timeout.
    ignore_acpi_for: set[str] = field(default_factory=set)
    fail_live_migration_for: set[str] = field(default_factory=set)
    # Destroying these guests (names or uuids) fails, leaving them in place.
    fail_destroy_for: set[str] = field(default_factory=set)
    live_migration_latency: float = 0.0  # seconds the memory copy takes before the hand-over
    # Over-commit the simulated hypervisor accepts (a real one lets vCPUs oversubscribe).
    cpu_allocation_ratio: float = 1.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0


class FakeFabric:
    """The simulated network between fake hosts of one process (live migration needs it)."""

    def __init__(self) -> None:
        self.hosts: dict[str, FakeDriver] = {}

    def join(self, driver: FakeDriver) -> None:
        if driver.hostname in self.hosts:
            raise ValueError(f"fake host {driver.hostname!r} is already on this fabric")
        self.hosts[driver.hostname] = driver


def _ascii(text: str) -> str:
    return text.encode("ascii", "replace").decode("ascii")


class FakeDriver:
    """ComputeDriver plus every optional ability, for one simulated host."""

    driver_name = "fake"
    # Nova's 2.48 diagnostics name the driver from a closed set (libvirt, xenapi, vmwareapi,
    # ironic, hyperv) and clients validate it; Nova's own fake driver reports "libvirt" too.
    diagnostics_driver = "libvirt"

    def __init__(self, config: FakeHostConfig | None = None, *, state_dir: Path | None = None,
                 fabric: FakeFabric | None = None) -> None:
        self.config = config or FakeHostConfig()
        self._state_dir = state_dir
        # Without a state directory nothing is kept: the host lives as long as this object.
        self._files = GuestFiles(state_dir / "guests", self.config.hostname) if state_dir is not None else None
        self._guests: dict[str, Guest] = {}
        self._set_aside: dict[str, InstanceSpec] = {}  # resize sources awaiting confirm/revert
        if self._files is not None:
            self._guests, self._set_aside = self._files.load()
        self._incoming: dict[str, InstanceSpec] = {}  # live migrations prepared here
        self._completing: dict[str, asyncio.Event] = {}  # live migrations copying memory
        self._locks: weakref.WeakValueDictionary[str, asyncio.Lock] = weakref.WeakValueDictionary()
        self._rng = random.Random(self.config.seed)
        self._vnc = FakeVncServer(self.config.host_ip, self._console_name)
        self.fabric = fabric or FakeFabric()
        self.fabric.join(self)

    @property
    def hostname(self) -> str:
        return self.config.hostname

    # --- bookkeeping ------------------------------------------------------------------------

    def _claimed(self) -> list[InstanceSpec]:
        return ([g.spec for g in self._guests.values()] + list(self._set_aside.values())
                + list(self._incoming.values()))

    def _usage(self) -> tuple[int, int, int]:
        specs = self._claimed()
        return (sum(s.vcpus for s in specs), sum(s.memory_mb for s in specs), sum(s.disk_gb for s in specs))

    def _check_fits(self, spec: InstanceSpec) -> None:
        vcpus, mem, disk = self._usage()
        c = self.config
        short = [what for what, used, want, total in (
            ("vcpus", vcpus, spec.vcpus, c.vcpus * c.cpu_allocation_ratio),
            ("memory_mb", mem, spec.memory_mb, c.memory_mb * c.ram_allocation_ratio),
            ("disk_gb", disk, spec.disk_gb, c.local_gb * c.disk_allocation_ratio)) if used + want > total]
        if short:
            raise InsufficientResources(f"host {self.hostname} cannot fit {spec.name} ({', '.join(short)})")

    def _get(self, uuid: str) -> Guest:
        # A guest being built is known (listed, NOSTATE); actions on it wait for its lock.
        guest = self._guests.get(uuid)
        if guest is None:
            raise InstanceNotFound(uuid)
        return guest

    def _save(self, uuid: str) -> None:
        """Put what the host has for ``uuid`` on disk. A guest being built is not kept: a
        restart mid-spawn leaves nothing, as a failed spawn does."""
        if self._files is None:
            return
        guest = self._guests.get(uuid)
        try:
            self._files.save(uuid, None if guest is None or guest.building else guest, self._set_aside.get(uuid))
        except OSError:  # the guest itself is fine; only a restart would lose this change
            log.exception("fake host %s: the record of guest %s could not be saved", self.hostname, uuid)

    @contextlib.asynccontextmanager
    async def _locked(self, uuid: str) -> AsyncIterator[None]:
        # One operation per guest at a time, as a real hypervisor's per-domain job lock. Every
        # operation that changes a guest holds it, so saving on the way out — success, failure
        # or cancellation — records each change before the call returns.
        lock = self._locks.get(uuid)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[uuid] = lock
        async with lock:
            try:
                yield
            finally:
                self._save(uuid)

    def _marked(self, spec: InstanceSpec, names: set[str]) -> bool:
        return spec.uuid in names or spec.name in names

    # --- simulated guest life ---------------------------------------------------------------

    def _define(self, spec: InstanceSpec, network_info: NetworkInfo | None, building: bool) -> Guest:
        self._check_fits(spec)
        guest = Guest(spec=spec, state=PowerState.NOSTATE if building else PowerState.SHUTDOWN,
                       network_info=list(network_info or []), building=building)
        self._guests[spec.uuid] = guest
        return guest

    def _maybe_fail(self, spec: InstanceSpec, stage: FailStage) -> None:
        c = self.config
        if c.fail_at != stage:
            return
        doomed = self._marked(spec, c.fail_spawn_for)
        if not doomed and c.fail_spawn_probability > 0:
            doomed = self._rng.random() < c.fail_spawn_probability
        if doomed:
            raise SpawnFailed(f"injected failure spawning {spec.name} ({stage.replace('_', ' ')})")

    # --- ComputeDriver ----------------------------------------------------------------------

    async def host_info(self) -> HostInfo:
        c = self.config
        vcpus, mem, disk = self._usage()
        return HostInfo(
            hypervisor_type=c.hypervisor_type, hypervisor_version=c.hypervisor_version,
            hypervisor_hostname=c.hostname, host_ip=c.host_ip,
            cpu_info={"arch": "x86_64", "model": "fake-cpu", "vendor": "onestack",
                      "topology": {"sockets": 1, "cores": c.vcpus, "threads": 1},
                      "features": ["fpu", "sse2", "vmx"]},
            vcpus=c.vcpus, memory_mb=c.memory_mb, local_gb=c.local_gb,
            vcpus_used=vcpus, memory_mb_used=mem, local_gb_used=disk, running_vms=len(self._guests),
            traits=CAPABILITY_TRAITS)

    async def list_instances(self) -> list[str]:
        return list(self._guests)

    async def spawn(self, instance: InstanceSpec, image_path: Path | None,
                    network_info: NetworkInfo | None = None,
                    block_device_info: BlockDeviceInfo | None = None) -> None:
        async with self._locked(instance.uuid):
            existing = self._guests.get(instance.uuid)
            if existing is not None:  # a retried or duplicated request: converge, don't duplicate
                start(existing, self.hostname)
                return
            self._maybe_fail(instance, "before_allocating")
            guest = self._define(instance, network_info, building=True)
            guest.volumes = {str(m["mount_device"]): dict(m.get("connection_info") or {})
                             for m in (block_device_info or {}).get("block_device_mapping", [])}
            try:
                await asyncio.to_thread(check_image, image_path)
                if self.config.spawn_latency > 0:
                    await asyncio.sleep(self.config.spawn_latency)
                self._maybe_fail(instance, "after_allocating")
            except BaseException:
                self._guests.pop(instance.uuid, None)  # releases the claim with the record
                raise
            guest.building = False
            boot(guest, self.hostname)

    async def destroy(self, uuid: str) -> None:
        async with self._locked(uuid):
            guest = self._guests.get(uuid)
            if uuid in self.config.fail_destroy_for or (
                    guest is not None and self._marked(guest.spec, self.config.fail_destroy_for)):
                raise DriverError(f"injected failure destroying {guest.spec.name if guest else uuid}")
            self._guests.pop(uuid, None)

    async def power_off(self, uuid: str, timeout: float = 60.0) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            await shutdown(guest, timeout, self._marked(guest.spec, self.config.ignore_acpi_for))

    async def power_on(self, uuid: str) -> None:
        async with self._locked(uuid):
            start(self._get(uuid), self.hostname)

    async def reboot(self, uuid: str, hard: bool) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if not hard and guest.state == PowerState.RUNNING and not self._marked(
                    guest.spec, self.config.ignore_acpi_for):
                say(guest, f"{guest.spec.name}: reboot requested by ACPI, restarting")
            else:
                say(guest, f"{guest.spec.name}: {'hard' if hard else 'soft reboot failed,'} reset")
            boot(guest, self.hostname)

    async def get_power_state(self, uuid: str) -> PowerState:
        return self._get(uuid).state

    async def get_console_output(self, uuid: str) -> str:
        return "".join(line + "\n" for line in self._get(uuid).console)

    async def get_diagnostics(self, uuid: str) -> Diagnostics:
        return diagnostics(self._get(uuid), self.diagnostics_driver, self.config.hypervisor_type)

    # --- Pausable / Suspendable -------------------------------------------------------------

    async def _transition(self, uuid: str, frm: tuple[PowerState, ...], to: PowerState, what: str) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if guest.state == to:
                return
            if guest.state not in frm:
                raise InvalidPowerState(f"cannot {what} {guest.spec.name} in power state {guest.state.name}")
            say(guest, f"{guest.spec.name}: {what}")
            guest.state = to

    async def pause(self, uuid: str) -> None:
        await self._transition(uuid, (PowerState.RUNNING,), PowerState.PAUSED, "pause")

    async def unpause(self, uuid: str) -> None:
        await self._transition(uuid, (PowerState.PAUSED,), PowerState.RUNNING, "unpause")

    async def suspend(self, uuid: str) -> None:
        await self._transition(uuid, (PowerState.RUNNING, PowerState.PAUSED), PowerState.SUSPENDED, "suspend")

    async def resume(self, uuid: str) -> None:
        await self._transition(uuid, (PowerState.SUSPENDED,), PowerState.RUNNING, "resume")

    # --- Snapshottable ----------------------------------------------------------------------

    def _snapshot_dir(self) -> Path:
        if self._state_dir is None:
            self._state_dir = Path(tempfile.mkdtemp(prefix=f"onestack-fake-{self.hostname}-"))
        return private_dir(self._state_dir / "snapshots")

    async def snapshot(self, uuid: str) -> Path:
        async with self._locked(uuid):
            guest = self._get(uuid)
            message = _ascii(f"snapshot of {guest.spec.name}")[:300]
            data = diskimage.tiny_qcow2(message)
            target = self._snapshot_dir() / f"{uuid}-{new_id()}.qcow2"
            partial = target.with_suffix(".partial")
            try:
                await asyncio.to_thread(write_private, partial, data)
                os.replace(partial, target)
            except BaseException:
                partial.unlink(missing_ok=True)
                raise
            say(guest, f"{guest.spec.name}: snapshot taken")
            return target

    # --- Resizable --------------------------------------------------------------------------

    async def migrate_disk_and_power_off(self, uuid: str, new: InstanceSpec, dest_host: str,
                                         timeout: float = 60.0) -> MigrationDisks:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if new.root_gb < guest.spec.root_gb:
                raise MigrationError(f"cannot shrink the root disk of {guest.spec.name} "
                                     f"from {guest.spec.root_gb} to {new.root_gb} GiB")
            await shutdown(guest, timeout, self._marked(guest.spec, self.config.ignore_acpi_for))
            # The old size stays claimed here until confirm or revert, as placement holds it.
            self._set_aside[uuid] = guest.spec
            del self._guests[uuid]
            return MigrationDisks(source_host=self.hostname, instance_uuid=uuid,
                                  data={"root_gb": guest.spec.root_gb, "image_ref": guest.spec.image_ref})

    async def finish_migration(self, instance: InstanceSpec, disks: MigrationDisks,
                               network_info: NetworkInfo | None = None,
                               block_device_info: BlockDeviceInfo | None = None,
                               power_on: bool = True) -> None:
        async with self._locked(instance.uuid):
            guest = self._guests.get(instance.uuid)
            if guest is None:
                guest = self._define(instance, network_info, building=False)
                say(guest, f"{instance.name}: disks received from {disks.source_host}")
            if block_device_info:
                guest.volumes = {str(m["mount_device"]): dict(m.get("connection_info") or {})
                                 for m in block_device_info.get("block_device_mapping", [])}
                self._save(instance.uuid)
            if power_on:
                start(guest, self.hostname)

    async def finish_revert_migration(self, instance: InstanceSpec,
                                      network_info: NetworkInfo | None = None,
                                      block_device_info: BlockDeviceInfo | None = None,
                                      power_on: bool = True) -> None:
        async with self._locked(instance.uuid):
            guest = self._guests.get(instance.uuid)
            if guest is None:
                old = self._set_aside.pop(instance.uuid, None)
                if old is None:
                    raise MigrationError(f"nothing set aside for {instance.uuid} on {self.hostname}")
                try:
                    guest = self._define(instance, network_info, building=False)
                except BaseException:
                    self._set_aside[instance.uuid] = old
                    raise
                say(guest, f"{instance.name}: resize reverted")
            if power_on:
                start(guest, self.hostname)

    async def confirm_migration(self, uuid: str) -> None:
        async with self._locked(uuid):
            self._set_aside.pop(uuid, None)

    # --- Rescuable --------------------------------------------------------------------------

    async def rescue(self, uuid: str, rescue_image_path: Path | None,
                     rescue_password: str | None = None) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if guest.rescued:
                return
            await asyncio.to_thread(check_image, rescue_image_path)
            guest.rescued = True
            say(guest, f"{guest.spec.name}: rescue mode")
            boot(guest, self.hostname)

    async def unrescue(self, uuid: str) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if not guest.rescued:
                return
            guest.rescued = False
            say(guest, f"{guest.spec.name}: leaving rescue mode")
            boot(guest, self.hostname)

    # --- LiveMigratable ---------------------------------------------------------------------

    async def check_can_live_migrate(self, instance: InstanceSpec,
                                     block_migration: bool) -> LiveMigrationData:
        if instance.uuid in self._guests:
            raise MigrationError(f"{instance.name} already runs on {self.hostname}")
        if instance.uuid not in self._incoming:
            self._check_fits(instance)
        return LiveMigrationData(dest_host=self.hostname, instance_uuid=instance.uuid,
                                 block_migration=block_migration, data={"cpu_model": "fake-cpu"})

    async def pre_live_migration(self, instance: InstanceSpec, data: LiveMigrationData,
                                 network_info: NetworkInfo | None = None,
                                 block_device_info: BlockDeviceInfo | None = None) -> None:
        if instance.uuid in self._incoming or instance.uuid in self._guests:
            return
        self._check_fits(instance)
        self._incoming[instance.uuid] = instance

    async def live_migration(self, uuid: str, data: LiveMigrationData, timeout: float = 600.0) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if guest.state not in (PowerState.RUNNING, PowerState.PAUSED):
                raise InvalidPowerState(f"cannot live-migrate {guest.spec.name} in {guest.state.name}")
            dest = self.fabric.hosts.get(data.dest_host)
            if dest is None or dest is self:
                raise MigrationError(f"destination {data.dest_host!r} is not reachable from {self.hostname}")
            if uuid not in dest._incoming:
                raise MigrationError(f"destination {data.dest_host} was not prepared for {uuid}")
            if self._marked(guest.spec, self.config.fail_live_migration_for):
                raise MigrationError(f"injected failure live-migrating {guest.spec.name}")
            # Copying memory: cancellable (abort) until the hand-over, which a force-complete hastens.
            done = self._completing.setdefault(uuid, asyncio.Event())
            try:
                # Timing out is the normal end: the copy took its full time without a force-complete.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(done.wait(), timeout=min(timeout, self.config.live_migration_latency))
            finally:
                self._completing.pop(uuid, None)
            # The hand-over is one step with no await: the guest is never on both or neither.
            dest._incoming.pop(uuid)
            dest._guests[uuid] = guest
            del self._guests[uuid]
            say(guest, f"{guest.spec.name}: live-migrated from {self.hostname} to {dest.hostname}")
            dest._save(uuid)  # the destination's record first: a crash now leaves two, never none

    async def live_migration_force_complete(self, uuid: str) -> None:
        """Finish a running live migration now (as pausing the guest lets the copy converge)."""
        event = self._completing.get(uuid)
        if event is not None:
            event.set()

    async def post_live_migration_at_destination(self, uuid: str,
                                                 network_info: NetworkInfo | None = None) -> None:
        guest = self._get(uuid)
        if network_info is not None:
            guest.network_info = list(network_info)
            self._save(uuid)

    async def rollback_live_migration_at_destination(self, uuid: str) -> None:
        self._incoming.pop(uuid, None)

    # --- InterfaceAttachable ----------------------------------------------------------------

    async def attach_interface(self, uuid: str, vif: dict[str, Any]) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if all(p.get("id") != vif.get("id") for p in guest.network_info):
                guest.network_info = [*guest.network_info, dict(vif)]
                say(guest, f"virtio_net: interface {vif.get('mac_address')} attached")

    async def detach_interface(self, uuid: str, vif: dict[str, Any]) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            kept = [p for p in guest.network_info if p.get("id") != vif.get("id")]
            if len(kept) != len(guest.network_info):
                guest.network_info = kept
                say(guest, f"virtio_net: interface {vif.get('mac_address')} detached")

    def interfaces(self, uuid: str) -> list[str]:
        """The port ids plugged into the guest (what tests check the agent told the driver)."""
        return [str(p.get("id")) for p in self._get(uuid).network_info]

    # --- VolumeAttachable --------------------------------------------------------------------

    async def attach_volume(self, uuid: str, connection_info: dict[str, Any], device: str) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            guest.volumes[device] = dict(connection_info)
            self._save(uuid)
            say(guest, f"virtio_blk: disk {device} attached ({connection_info.get('driver_volume_type')})")

    async def detach_volume(self, uuid: str, device: str) -> None:
        async with self._locked(uuid):
            guest = self._guests.get(uuid)
            if guest is not None and guest.volumes.pop(device, None) is not None:
                self._save(uuid)
                say(guest, f"virtio_blk: disk {device} detached")

    # --- VolumeExtendable --------------------------------------------------------------------

    async def extend_volume(self, uuid: str, connection_info: dict[str, Any], device: str, new_size: int) -> None:
        async with self._locked(uuid):
            guest = self._get(uuid)
            if device not in guest.volumes:
                raise DriverError(f"Volume {connection_info.get('data', {}).get('volume_id')} is not attached "
                                  f"to {guest.spec.name} as {device}")
            # What a resize of the block device would show: the disk's new size in bytes.
            guest.volumes[device] = {**guest.volumes[device], "size_bytes": int(new_size)}
            self._save(uuid)
            say(guest, f"virtio_blk: disk {device} resized to {int(new_size)} bytes")

    def volumes(self, uuid: str) -> dict[str, dict[str, Any]]:
        """The guest's disks by device and their connection info (what tests check the agent told it)."""
        return dict(self._get(uuid).volumes)

    # --- RemoteConsoles ---------------------------------------------------------------------

    async def get_vnc_console(self, uuid: str) -> ConsoleInfo:
        guest = self._get(uuid)
        if guest.state not in (PowerState.RUNNING, PowerState.PAUSED):
            raise ConsoleUnavailable(f"{guest.spec.name} is {guest.state.name.lower()}: no VNC console")
        # Every guest behind the host's one listener, chosen by uuid (fake_vnc.py).
        return ConsoleInfo(host=self.config.host_ip, port=await self._vnc.port(), internal_access_path=uuid)

    def _console_name(self, uuid: str) -> str | None:
        guest = self._guests.get(uuid)
        if guest is None or guest.state not in (PowerState.RUNNING, PowerState.PAUSED):
            return None
        return guest.spec.name

    async def close(self) -> None:
        """Stop serving consoles (the process is stopping)."""
        await self._vnc.close()

    # --- drift: things that happen outside the agent's control ------------------------------

    def simulate_crash(self, uuid: str) -> None:
        guest = self._get(uuid)
        say(guest, "Kernel panic - not syncing: Attempted to kill init!")
        guest.state = PowerState.CRASHED
        guest.booted_at = None
        self._save(uuid)

    def simulate_external_stop(self, uuid: str) -> None:
        """Someone ran ``virsh destroy`` or the guest shut itself down."""
        guest = self._get(uuid)
        halt(guest, f"{guest.spec.name}: stopped outside onestack")
        self._save(uuid)

    def simulate_external_start(self, uuid: str) -> None:
        start(self._get(uuid), self.hostname)
        self._save(uuid)

    def simulate_vanish(self, uuid: str) -> None:
        """The guest disappears from the hypervisor (undefined by hand, host reinstalled)."""
        self._guests.pop(uuid, None)
        self._save(uuid)

    def simulate_foreign_guest(self, spec: InstanceSpec) -> None:
        """A running guest onestack did not create appears (its resources count)."""
        guest = self._define(spec, None, building=False)
        boot(guest, self.hostname)
        self._save(spec.uuid)
