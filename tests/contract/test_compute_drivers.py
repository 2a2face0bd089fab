"""The contract every ComputeDriver passes (onestack/compute/virt/driver.py docstrings).

One suite, parametrised over every driver. A driver's factory builds a small host and says how
to make it misbehave where the contract needs that (a halfway spawn failure, a slow spawn, a
second host for live migration); tests that need a hook a driver lacks are skipped for it.
Optional abilities are tested only for drivers that have them (runtime-checkable Protocols).
"""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from onestack.compute.virt.driver import (
    ComputeDriver,
    ConsoleUnavailable,
    DriverError,
    HostInfo,
    ImageUnusable,
    InstanceNotFound,
    InstanceSpec,
    InsufficientResources,
    InterfaceAttachable,
    InvalidPowerState,
    LiveMigratable,
    MigrationError,
    Pausable,
    PowerState,
    RemoteConsoles,
    Rescuable,
    Resizable,
    Snapshottable,
    Suspendable,
    VolumeAttachable,
    VolumeExtendable,
)
from onestack.compute.virt.fake import FakeDriver, FakeHostConfig
from onestack.core import diskimage
from onestack.image import formats

T = TypeVar("T")


@dataclass
class Subject:
    driver: ComputeDriver
    image: Path  # a bootable disk image file
    fail_next_spawn: Callable[[InstanceSpec], None] | None = None  # make spawn fail after allocating
    slow_spawns: Callable[[float], None] | None = None  # make spawns take about this many seconds
    peer: Callable[[], ComputeDriver] | None = None  # a second host reachable for live migration
    # A new driver for the same host, as the agent builds after it restarts (the old one is dropped).
    reopen: Callable[[], ComputeDriver] | None = None


def _image(tmp_path: Path) -> Path:
    path = tmp_path / "image.qcow2"
    path.write_bytes(diskimage.tiny_qcow2("contract test image"))
    return path


def _fake(tmp_path: Path) -> Subject:
    def host_a() -> FakeDriver:
        return FakeDriver(FakeHostConfig(hostname="contract-a", vcpus=8, memory_mb=8192, local_gb=100),
                          state_dir=tmp_path / "fake-a")

    driver = host_a()

    def slow(seconds: float) -> None:
        driver.config.spawn_latency = seconds

    def peer() -> ComputeDriver:
        return FakeDriver(FakeHostConfig(hostname="contract-b", vcpus=8, memory_mb=8192, local_gb=100),
                          state_dir=tmp_path / "fake-b", fabric=driver.fabric)

    return Subject(driver, _image(tmp_path), lambda spec: driver.config.fail_spawn_for.add(spec.uuid), slow, peer,
                   host_a)


FACTORIES: dict[str, Callable[[Path], Subject]] = {"fake": _fake}


@pytest.fixture(params=sorted(FACTORIES))
def subject(request: pytest.FixtureRequest, tmp_path: Path) -> Subject:
    return FACTORIES[request.param](tmp_path)


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


def spec(name: str = "", vcpus: int = 1, memory_mb: int = 512, root_gb: int = 1, **kw: Any) -> InstanceSpec:
    uid = str(uuidlib.uuid4())
    return InstanceSpec(uuid=uid, name=name or f"vm-{uid[:8]}", vcpus=vcpus, memory_mb=memory_mb,
                        root_gb=root_gb, image_ref="img-1", **kw)


def used(info: HostInfo) -> tuple[int, int, int]:
    return info.vcpus_used, info.memory_mb_used, info.local_gb_used


def plus(base: tuple[int, int, int], *specs: InstanceSpec) -> tuple[int, int, int]:
    return (base[0] + sum(s.vcpus for s in specs), base[1] + sum(s.memory_mb for s in specs),
            base[2] + sum(s.disk_gb for s in specs))


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not await check():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)


async def state(d: ComputeDriver, uid: str) -> PowerState:
    return await d.get_power_state(uid)


# --- host and listing -----------------------------------------------------------------------

def test_host_info_shape(subject: Subject) -> None:
    info = run(subject.driver.host_info())
    assert info.hypervisor_type and info.hypervisor_hostname and info.hypervisor_version > 0
    assert info.vcpus > 0 and info.memory_mb > 0 and info.local_gb > 0
    assert 0 <= info.vcpus_used <= info.vcpus and 0 <= info.memory_mb_used <= info.memory_mb
    assert 0 <= info.local_gb_used <= info.local_gb
    assert {"arch", "model", "vendor", "topology"} <= set(info.cpu_info)


def test_spawn_lists_running_guest_and_counts_it_once(subject: Subject) -> None:
    d, s = subject.driver, spec(ephemeral_gb=2, swap_mb=1500)

    async def scenario() -> None:
        before = await d.host_info()
        await d.spawn(s, subject.image, [{"id": "p1", "mac_address": "fa:16:3e:00:00:01"}])
        assert s.uuid in await d.list_instances()
        assert await state(d, s.uuid) == PowerState.RUNNING
        after = await d.host_info()
        assert used(after) == plus(used(before), s)
        assert s.disk_gb == 1 + 2 + 2
        assert after.running_vms == before.running_vms + 1
    run(scenario())


def test_spawn_is_safe_to_retry(subject: Subject) -> None:
    d, s = subject.driver, spec()

    async def scenario() -> None:
        base = used(await d.host_info())
        await asyncio.gather(d.spawn(s, subject.image), d.spawn(s, subject.image))
        await d.spawn(s, subject.image)
        assert (await d.list_instances()).count(s.uuid) == 1
        assert used(await d.host_info()) == plus(base, s)
        await d.power_off(s.uuid, timeout=0)
        await d.spawn(s, subject.image)  # a retry converges on "exists and runs"
        assert await state(d, s.uuid) == PowerState.RUNNING
        assert used(await d.host_info()) == plus(base, s)
    run(scenario())


def test_guests_on_different_uuids_spawn_concurrently(subject: Subject) -> None:
    d, specs = subject.driver, [spec() for _ in range(4)]

    async def scenario() -> None:
        await asyncio.gather(*(d.spawn(s, subject.image) for s in specs))
        assert {s.uuid for s in specs} <= set(await d.list_instances())
    run(scenario())


def test_list_instances_includes_every_power_state(subject: Subject) -> None:
    d, a, b = subject.driver, spec(), spec()

    async def scenario() -> None:
        await d.spawn(a, subject.image)
        await d.spawn(b, subject.image)
        await d.power_off(b.uuid, timeout=0)
        assert {a.uuid, b.uuid} <= set(await d.list_instances())
    run(scenario())


# --- destroy --------------------------------------------------------------------------------

def test_destroy_is_idempotent_and_releases_resources(subject: Subject) -> None:
    d, s = subject.driver, spec(vcpus=2, memory_mb=1024, root_gb=5)

    async def scenario() -> None:
        base = used(await d.host_info())
        await d.spawn(s, subject.image)
        await d.destroy(s.uuid)
        await d.destroy(s.uuid)
        await d.destroy(str(uuidlib.uuid4()))
        assert s.uuid not in await d.list_instances()
        assert used(await d.host_info()) == base
        with pytest.raises(InstanceNotFound):
            await d.get_power_state(s.uuid)
    run(scenario())


def test_destroy_works_in_any_power_state(subject: Subject) -> None:
    d, s = subject.driver, spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.power_off(s.uuid, timeout=0)
        await d.destroy(s.uuid)
        assert s.uuid not in await d.list_instances()
    run(scenario())


# --- power ----------------------------------------------------------------------------------

def test_power_off_on_transitions_and_idempotency(subject: Subject) -> None:
    d, s = subject.driver, spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.power_off(s.uuid, timeout=5)
        assert await state(d, s.uuid) == PowerState.SHUTDOWN
        await d.power_off(s.uuid, timeout=5)
        assert await state(d, s.uuid) == PowerState.SHUTDOWN
        await d.power_on(s.uuid)
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.power_on(s.uuid)
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.power_off(s.uuid, timeout=0)  # hard, at once
        assert await state(d, s.uuid) == PowerState.SHUTDOWN
    run(scenario())


@pytest.mark.parametrize("hard", [False, True])
def test_reboot_ends_running_from_running_and_from_shutdown(subject: Subject, hard: bool) -> None:
    d, s = subject.driver, spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.reboot(s.uuid, hard=hard)
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.power_off(s.uuid, timeout=0)
        await d.reboot(s.uuid, hard=hard)  # soft falls back to hard when the guest is not running
        assert await state(d, s.uuid) == PowerState.RUNNING
    run(scenario())


@pytest.mark.parametrize("call", ["power_off", "power_on", "reboot", "get_power_state",
                                  "get_console_output", "get_diagnostics"])
def test_unknown_uuid_raises_instance_not_found(subject: Subject, call: str) -> None:
    d, uid = subject.driver, str(uuidlib.uuid4())
    calls: dict[str, Callable[[], Awaitable[Any]]] = {
        "power_off": lambda: d.power_off(uid, timeout=0), "power_on": lambda: d.power_on(uid),
        "reboot": lambda: d.reboot(uid, hard=True), "get_power_state": lambda: d.get_power_state(uid),
        "get_console_output": lambda: d.get_console_output(uid), "get_diagnostics": lambda: d.get_diagnostics(uid),
    }

    async def scenario() -> None:
        with pytest.raises(InstanceNotFound):
            await calls[call]()
    run(scenario())


# --- capacity and failures ------------------------------------------------------------------

@pytest.mark.parametrize("dimension", ["vcpus", "memory_mb", "disk"])
def test_spawn_beyond_capacity_raises_and_leaves_no_trace(subject: Subject, dimension: str) -> None:
    d = subject.driver

    async def scenario() -> None:
        info = await d.host_info()
        too_big = {"vcpus": spec(vcpus=info.vcpus - info.vcpus_used + 1),
                   "memory_mb": spec(memory_mb=info.free_memory_mb + 1),
                   "disk": spec(root_gb=info.free_disk_gb + 1)}[dimension]
        with pytest.raises(InsufficientResources):
            await d.spawn(too_big, subject.image)
        assert too_big.uuid not in await d.list_instances()
        assert used(await d.host_info()) == used(info)
    run(scenario())


def test_capacity_is_shared_between_guests_and_freed_by_destroy(subject: Subject) -> None:
    d = subject.driver

    async def scenario() -> None:
        info = await d.host_info()
        half = info.free_memory_mb // 2 + 1
        first, second = spec(memory_mb=half), spec(memory_mb=half)
        await d.spawn(first, subject.image)
        with pytest.raises(InsufficientResources):
            await d.spawn(second, subject.image)
        await d.power_off(first.uuid, timeout=0)  # a stopped guest keeps its claim
        with pytest.raises(InsufficientResources):
            await d.spawn(second, subject.image)
        await d.destroy(first.uuid)
        await d.spawn(second, subject.image)
        assert await state(d, second.uuid) == PowerState.RUNNING
    run(scenario())


def test_spawn_with_missing_image_fails_clean(subject: Subject, tmp_path: Path) -> None:
    d, s = subject.driver, spec()

    async def scenario() -> None:
        base = used(await d.host_info())
        with pytest.raises(ImageUnusable):
            await d.spawn(s, tmp_path / "no-such-image.qcow2")
        assert s.uuid not in await d.list_instances()
        assert used(await d.host_info()) == base
        await d.spawn(s, subject.image)  # the same uuid can be retried
        assert await state(d, s.uuid) == PowerState.RUNNING
    run(scenario())


def test_spawn_failing_halfway_leaves_no_trace(subject: Subject) -> None:
    if subject.fail_next_spawn is None:
        pytest.skip("driver has no failure hook")
    d, s = subject.driver, spec()
    subject.fail_next_spawn(s)

    async def scenario() -> None:
        base = used(await d.host_info())
        with pytest.raises(DriverError):
            await d.spawn(s, subject.image)
        assert s.uuid not in await d.list_instances()
        assert used(await d.host_info()) == base
    run(scenario())


def test_cancelled_spawn_leaves_no_trace(subject: Subject) -> None:
    if subject.slow_spawns is None:
        pytest.skip("driver cannot be made slow")
    d, s = subject.driver, spec()
    subject.slow_spawns(30.0)

    async def scenario() -> None:
        base = used(await d.host_info())
        task = asyncio.create_task(d.spawn(s, subject.image))

        async def claimed() -> bool:
            return used(await d.host_info()) != base
        await eventually(claimed)
        if s.uuid in await d.list_instances():  # listed mid-build means NOSTATE
            assert await state(d, s.uuid) == PowerState.NOSTATE
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert s.uuid not in await d.list_instances()
        assert used(await d.host_info()) == base
    run(scenario())


# --- console and diagnostics ----------------------------------------------------------------

def test_console_output_names_the_guest(subject: Subject) -> None:
    d, s = subject.driver, spec(name=f"console-{uuidlib.uuid4().hex[:6]}")

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        out = await d.get_console_output(s.uuid)
        assert isinstance(out, str) and s.name in out
        await d.reboot(s.uuid, hard=True)
        assert len(await d.get_console_output(s.uuid)) > len(out)
    run(scenario())


def test_diagnostics_shape(subject: Subject) -> None:
    d, s = subject.driver, spec(vcpus=2, memory_mb=1024)
    ports = [{"id": "p1", "mac_address": "fa:16:3e:11:22:33"}]

    async def scenario() -> None:
        await d.spawn(s, subject.image, ports)
        diag = await d.get_diagnostics(s.uuid)
        assert diag.state == PowerState.RUNNING and diag.num_cpus == 2
        assert diag.memory_details["maximum"] == 1024
        assert diag.num_nics == len(diag.nic_details) == 1
        assert diag.nic_details[0].mac_address == "fa:16:3e:11:22:33"
        assert diag.num_disks == len(diag.disk_details) >= 1
        body = diag.as_api_dict()
        assert body["state"] == "running"
        assert body["driver"] in ("libvirt", "xenapi", "vmwareapi", "ironic", "hyperv")  # Nova's 2.48 enum
        assert {"driver", "hypervisor", "hypervisor_os", "uptime", "config_drive", "num_cpus", "num_nics",
                "num_disks", "cpu_details", "nic_details", "disk_details", "memory_details"} <= set(body)
        await d.power_off(s.uuid, timeout=0)
        assert (await d.get_diagnostics(s.uuid)).as_api_dict()["state"] == "shutdown"
    run(scenario())


# --- restarts of the agent ------------------------------------------------------------------

def reopened(subject: Subject) -> ComputeDriver:
    if subject.reopen is None:
        pytest.skip("driver cannot be built again for the same host")
    return subject.reopen()


def test_guests_survive_a_restart_of_the_agent(subject: Subject) -> None:
    """The hypervisor keeps its guests while the agent restarts: a driver built again for the
    same host sees every guest in the power state it had, with its console and its resources."""
    d, running, stopped = subject.driver, spec(), spec(vcpus=2, memory_mb=1024, root_gb=3)
    paused, suspended = spec(), spec()

    async def before() -> tuple[set[str], dict[str, PowerState], HostInfo, dict[str, str]]:
        for s in (running, stopped, paused, suspended):
            await d.spawn(s, subject.image)
        await d.power_off(stopped.uuid, timeout=0)
        if isinstance(d, Pausable):
            await d.pause(paused.uuid)
        if isinstance(d, Suspendable):
            await d.suspend(suspended.uuid)
        guests = set(await d.list_instances())
        return (guests, {u: await state(d, u) for u in guests}, await d.host_info(),
                {u: await d.get_console_output(u) for u in guests})

    guests, powers, info, consoles = run(before())
    again = reopened(subject)

    async def after() -> None:
        assert set(await again.list_instances()) == guests
        assert {u: await state(again, u) for u in guests} == powers
        assert powers[stopped.uuid] == PowerState.SHUTDOWN
        now = await again.host_info()
        assert used(now) == used(info) and now.running_vms == info.running_vms
        for uid, console in consoles.items():  # the same guests, not new ones booted in their place
            assert await again.get_console_output(uid) == console
        # The new driver owns them: it acts on them and its books follow.
        await again.power_on(stopped.uuid)
        assert await state(again, stopped.uuid) == PowerState.RUNNING
        await again.destroy(stopped.uuid)
        assert plus(used(await again.host_info()), stopped) == used(info)
        if isinstance(again, Pausable):
            await again.unpause(paused.uuid)
            assert await state(again, paused.uuid) == PowerState.RUNNING
        if isinstance(again, Suspendable):
            await again.resume(suspended.uuid)
            assert await state(again, suspended.uuid) == PowerState.RUNNING
    run(after())
    assert set(run(reopened(subject).list_instances())) == guests - {stopped.uuid}  # changes after it are kept too


def test_resize_sources_survive_a_restart_of_the_agent(subject: Subject) -> None:
    d, old = need(subject, Resizable), spec(vcpus=1, memory_mb=512, root_gb=1)
    new = InstanceSpec(**{**old.__dict__, "vcpus": 2, "root_gb": 2})

    async def before() -> tuple[int, int, int]:
        base = used(await d.host_info())
        await d.spawn(old, subject.image)
        await d.migrate_disk_and_power_off(old.uuid, new, dest_host="elsewhere")
        return base

    base = run(before())
    again = reopened(subject)
    assert isinstance(again, Resizable)

    async def after() -> None:
        assert old.uuid not in await again.list_instances()
        assert used(await again.host_info()) == plus(base, old)  # the set-aside disks still hold their claim
        await again.finish_revert_migration(old)
        assert await again.get_power_state(old.uuid) == PowerState.RUNNING
        assert used(await again.host_info()) == plus(base, old)
    run(after())


# --- optional abilities ---------------------------------------------------------------------

def need(subject: Subject, ability: type) -> Any:
    if not isinstance(subject.driver, ability):
        pytest.skip(f"driver is not {ability.__name__}")
    return subject.driver


def test_pause_unpause(subject: Subject) -> None:
    d, s = need(subject, Pausable), spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.pause(s.uuid)
        await d.pause(s.uuid)
        assert await state(d, s.uuid) == PowerState.PAUSED
        await d.unpause(s.uuid)
        await d.unpause(s.uuid)
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.power_off(s.uuid, timeout=0)
        with pytest.raises(InvalidPowerState):
            await d.pause(s.uuid)
        with pytest.raises(InvalidPowerState):
            await d.unpause(s.uuid)
        assert await state(d, s.uuid) == PowerState.SHUTDOWN
    run(scenario())


def test_suspend_resume_keeps_the_claim(subject: Subject) -> None:
    d, s = need(subject, Suspendable), spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        claimed = used(await d.host_info())
        await d.suspend(s.uuid)
        await d.suspend(s.uuid)
        assert await state(d, s.uuid) == PowerState.SUSPENDED
        assert used(await d.host_info()) == claimed
        await d.resume(s.uuid)
        await d.resume(s.uuid)
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.power_off(s.uuid, timeout=0)
        for call in (d.suspend, d.resume):
            with pytest.raises(InvalidPowerState):
                await call(s.uuid)
        if isinstance(subject.driver, Pausable):  # a paused guest may be suspended too
            await d.power_on(s.uuid)
            await d.pause(s.uuid)
            await d.suspend(s.uuid)
            assert await state(d, s.uuid) == PowerState.SUSPENDED
            await d.power_on(s.uuid)
            assert await state(d, s.uuid) == PowerState.RUNNING
    run(scenario())


@pytest.mark.parametrize("stopped", [False, True])
def test_snapshot_writes_a_qcow2_and_keeps_power_state(subject: Subject, stopped: bool) -> None:
    d, s = need(subject, Snapshottable), spec()

    async def scenario() -> Path:
        await d.spawn(s, subject.image)
        if stopped:
            await d.power_off(s.uuid, timeout=0)
        path: Path = await d.snapshot(s.uuid)
        assert await state(d, s.uuid) == (PowerState.SHUTDOWN if stopped else PowerState.RUNNING)
        with pytest.raises(InstanceNotFound):
            await d.snapshot(str(uuidlib.uuid4()))
        return path

    path = run(scenario())
    data = path.read_bytes()
    assert data[:4] == b"QFI\xfb"
    virtual_size = formats.check("qcow2", lambda off, n: data[off:off + n], len(data))
    assert virtual_size is not None and virtual_size > 0
    path.unlink()  # the caller owns the file


def test_resize_confirm(subject: Subject) -> None:
    d, old = need(subject, Resizable), spec(vcpus=1, memory_mb=512, root_gb=1)
    new = InstanceSpec(**{**old.__dict__, "vcpus": 2, "memory_mb": 1024, "root_gb": 2})

    async def scenario() -> None:
        base = used(await d.host_info())
        await d.spawn(old, subject.image)
        disks = await d.migrate_disk_and_power_off(old.uuid, new, dest_host="same")
        assert old.uuid not in await d.list_instances()
        assert used(await d.host_info()) == plus(base, old)  # set aside, still claimed
        await d.finish_migration(new, disks)
        await d.finish_migration(new, disks)  # retried
        assert await state(d, new.uuid) == PowerState.RUNNING
        assert used(await d.host_info()) == plus(base, old, new)
        await d.confirm_migration(old.uuid)
        await d.confirm_migration(old.uuid)
        assert used(await d.host_info()) == plus(base, new)
    run(scenario())


def test_resize_revert(subject: Subject) -> None:
    d, old = need(subject, Resizable), spec(root_gb=1)
    new = InstanceSpec(**{**old.__dict__, "vcpus": 2, "root_gb": 3})

    async def scenario() -> None:
        base = used(await d.host_info())
        await d.spawn(old, subject.image)
        disks = await d.migrate_disk_and_power_off(old.uuid, new, dest_host="same")
        await d.finish_migration(new, disks, power_on=False)
        assert await state(d, new.uuid) == PowerState.SHUTDOWN
        await d.destroy(new.uuid)  # the destination drops its copy first
        await d.finish_revert_migration(old)
        assert await state(d, old.uuid) == PowerState.RUNNING
        assert used(await d.host_info()) == plus(base, old)
        await d.finish_revert_migration(old)  # retried: already defined, nothing changes
        assert used(await d.host_info()) == plus(base, old)
        with pytest.raises(MigrationError):
            await d.finish_revert_migration(spec())
    run(scenario())


def test_resize_refuses_to_shrink_root_and_leaves_guest_alone(subject: Subject) -> None:
    d, old = need(subject, Resizable), spec(root_gb=4)
    smaller = InstanceSpec(**{**old.__dict__, "root_gb": 2})

    async def scenario() -> None:
        await d.spawn(old, subject.image)
        with pytest.raises(MigrationError):
            await d.migrate_disk_and_power_off(old.uuid, smaller, dest_host="same")
        assert await state(d, old.uuid) == PowerState.RUNNING
    run(scenario())


def test_rescue_unrescue(subject: Subject) -> None:
    d, s = need(subject, Rescuable), spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.power_off(s.uuid, timeout=0)
        await d.rescue(s.uuid, subject.image)
        await d.rescue(s.uuid, subject.image)
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.unrescue(s.uuid)
        await d.unrescue(s.uuid)
        assert await state(d, s.uuid) == PowerState.RUNNING
    run(scenario())


def test_attach_detach_interface(subject: Subject) -> None:
    d, s = need(subject, InterfaceAttachable), spec()
    vif = {"id": str(uuidlib.uuid4()), "mac_address": "fa:16:3e:00:00:01", "fixed_ips": []}

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.attach_interface(s.uuid, vif)
        await d.attach_interface(s.uuid, vif)  # already plugged: left alone
        assert await state(d, s.uuid) == PowerState.RUNNING
        await d.detach_interface(s.uuid, vif)
        await d.detach_interface(s.uuid, vif)  # not plugged: nothing to do
        assert await state(d, s.uuid) == PowerState.RUNNING
        with pytest.raises(InstanceNotFound):
            await d.attach_interface(str(uuidlib.uuid4()), vif)
    run(scenario())


def test_attach_detach_volume(subject: Subject) -> None:
    d, s = need(subject, VolumeAttachable), spec()
    info = {"driver_volume_type": "file", "data": {"device_path": "/nonexistent/vol", "format": "raw",
                                                   "volume_id": str(uuidlib.uuid4()), "access_mode": "rw"}}

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.attach_volume(s.uuid, info, "/dev/vdb")
        await d.attach_volume(s.uuid, info, "/dev/vdb")  # already there: replaced, not doubled
        assert await state(d, s.uuid) == PowerState.RUNNING
        if isinstance(d, FakeDriver):
            assert d.volumes(s.uuid) == {"/dev/vdb": info}
        await d.detach_volume(s.uuid, "/dev/vdb")
        await d.detach_volume(s.uuid, "/dev/vdb")  # not there: nothing to do
        await d.detach_volume(str(uuidlib.uuid4()), "/dev/vdb")  # no such guest: nothing to do
        assert await state(d, s.uuid) == PowerState.RUNNING
        if isinstance(d, FakeDriver):
            assert d.volumes(s.uuid) == {}
        with pytest.raises(InstanceNotFound):
            await d.attach_volume(str(uuidlib.uuid4()), info, "/dev/vdc")
    run(scenario())


def test_extend_volume_resizes_the_plugged_disk(subject: Subject) -> None:
    d, s = need(subject, VolumeExtendable), spec()
    info = {"driver_volume_type": "file", "data": {"device_path": "/nonexistent/vol", "format": "raw",
                                                   "volume_id": str(uuidlib.uuid4()), "access_mode": "rw"}}

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        await d.attach_volume(s.uuid, info, "/dev/vdb")
        await d.extend_volume(s.uuid, info, "/dev/vdb", 2 * 1024**3)
        assert await state(d, s.uuid) == PowerState.RUNNING
        if isinstance(d, FakeDriver):
            assert d.volumes(s.uuid)["/dev/vdb"]["size_bytes"] == 2 * 1024**3
            if subject.reopen is not None:  # the record survives a restart of the agent
                again = subject.reopen()
                assert isinstance(again, FakeDriver)
                assert again.volumes(s.uuid)["/dev/vdb"]["size_bytes"] == 2 * 1024**3
        with pytest.raises(DriverError):  # not plugged as that device
            await d.extend_volume(s.uuid, info, "/dev/vdc", 2 * 1024**3)
        with pytest.raises(InstanceNotFound):
            await d.extend_volume(str(uuidlib.uuid4()), info, "/dev/vdb", 2 * 1024**3)
    run(scenario())


def test_spawn_from_volume_keeps_its_disks_across_a_restart(subject: Subject) -> None:
    d, s = need(subject, VolumeAttachable), spec()
    info = {"driver_volume_type": "file", "data": {"device_path": "/nonexistent/root", "volume_id": "v"}}
    bdi = {"block_device_mapping": [{"connection_info": info, "mount_device": "/dev/vda", "boot_index": 0}],
           "root_device_name": "/dev/vda"}

    async def scenario() -> None:
        await d.spawn(s, None, None, bdi)  # no image: the root disk is the volume
        assert await state(d, s.uuid) == PowerState.RUNNING
        if subject.reopen is not None and isinstance(d, FakeDriver):
            again = subject.reopen()
            assert isinstance(again, FakeDriver) and again.volumes(s.uuid) == {"/dev/vda": info}
    run(scenario())


def test_live_migration_moves_the_guest_and_its_claim(subject: Subject) -> None:
    src = need(subject, LiveMigratable)
    if subject.peer is None:
        pytest.skip("driver has no second host")
    dest, s = subject.peer(), spec(vcpus=2, memory_mb=1024)
    assert isinstance(dest, LiveMigratable)

    async def scenario() -> None:
        await src.spawn(s, subject.image)
        src_base, dest_base = used(await src.host_info()), used(await dest.host_info())
        data = await dest.check_can_live_migrate(s, block_migration=True)
        await dest.pre_live_migration(s, data)
        await dest.pre_live_migration(s, data)  # retried
        assert used(await dest.host_info()) == plus(dest_base, s)
        await src.live_migration(s.uuid, data)
        await dest.post_live_migration_at_destination(s.uuid)
        assert s.uuid not in await src.list_instances()
        assert s.uuid in await dest.list_instances()
        assert await dest.get_power_state(s.uuid) == PowerState.RUNNING
        assert used(await dest.host_info()) == plus(dest_base, s)
        assert plus(used(await src.host_info()), s) == src_base
        await dest.rollback_live_migration_at_destination(s.uuid)  # never touches a landed guest
        assert await dest.get_power_state(s.uuid) == PowerState.RUNNING
    run(scenario())


def test_failed_live_migration_keeps_guest_on_source(subject: Subject) -> None:
    src = need(subject, LiveMigratable)
    if subject.peer is None:
        pytest.skip("driver has no second host")
    dest, s = subject.peer(), spec()
    assert isinstance(dest, LiveMigratable)

    async def scenario() -> None:
        await src.spawn(s, subject.image)
        dest_base = used(await dest.host_info())
        data = await dest.check_can_live_migrate(s, block_migration=False)
        with pytest.raises(MigrationError):  # destination was never prepared
            await src.live_migration(s.uuid, data)
        assert await src.get_power_state(s.uuid) == PowerState.RUNNING
        assert s.uuid not in await dest.list_instances()
        await dest.rollback_live_migration_at_destination(s.uuid)
        assert used(await dest.host_info()) == dest_base
    run(scenario())


def test_vnc_console(subject: Subject) -> None:
    d, s = need(subject, RemoteConsoles), spec()

    async def scenario() -> None:
        await d.spawn(s, subject.image)
        info = await d.get_vnc_console(s.uuid)
        assert info.host and 0 < info.port < 65536
        await d.power_off(s.uuid, timeout=0)
        with pytest.raises(ConsoleUnavailable):
            await d.get_vnc_console(s.uuid)
    run(scenario())
