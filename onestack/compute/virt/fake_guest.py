"""What a simulated guest does by itself: the console lines of its boots and stops, its power
transitions, its diagnostics, and reading the image it boots from. ``FakeDriver`` (fake.py)
decides when each happens — under the guest's lock, with the host's books and its record on
disk — these functions say what happens to the guest.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from onestack.compute.virt.driver import (
    CpuDiagnostics,
    Diagnostics,
    DiskDiagnostics,
    ImageUnusable,
    NicDiagnostics,
    PowerState,
)
from onestack.compute.virt.fake_state import Guest


def say(guest: Guest, line: str) -> None:
    """A line on the guest's serial console."""
    guest.console.append(line)


def boot(guest: Guest, hostname: str) -> None:
    s = guest.spec
    disk = "rescue image, own disk on /dev/vdb" if guest.rescued else f"/dev/vda ({s.root_gb} GiB)"
    for line in (
        f"[    0.000000] onestack fake guest booting on {hostname}",
        f"[    0.000000] Command line: root=/dev/vda1 console=ttyS0 ({disk})",
        f"[    0.180000] Memory: {s.memory_mb}MiB, CPUs: {s.vcpus}",
        f"[    0.420000] virtio_net: {len(guest.network_info)} interface(s)",
        f"cloud-init: instance-id {s.uuid}, hostname {s.name}",
        (f"cloud-init: user-data {'present' if s.user_data else 'absent'}, "
         f"ssh key {'injected' if s.key_data else 'none'}"),
        f"{s.name} login: ",
    ):
        say(guest, line)
    guest.state = PowerState.RUNNING
    guest.booted_at = time.time()


def halt(guest: Guest, line: str) -> None:
    say(guest, line)
    guest.state = PowerState.SHUTDOWN
    guest.booted_at = None


def start(guest: Guest, hostname: str) -> None:
    if guest.state == PowerState.RUNNING:
        return
    if guest.state in (PowerState.PAUSED, PowerState.SUSPENDED):
        say(guest, f"{guest.spec.name}: resumed")
        guest.state = PowerState.RUNNING
    else:
        boot(guest, hostname)


async def shutdown(guest: Guest, timeout: float, ignores_acpi: bool) -> None:
    """A graceful power off within ``timeout`` (0: pull the plug); a guest whose OS ignores ACPI
    makes it wait the whole timeout first."""
    if guest.state == PowerState.SHUTDOWN:
        return
    if timeout > 0 and guest.state == PowerState.RUNNING:
        if not ignores_acpi:
            halt(guest, f"{guest.spec.name}: ACPI power button, reached target Power-Off")
            return
        await asyncio.sleep(timeout)  # the guest never answers; a real driver waits too
        say(guest, f"{guest.spec.name}: ignored ACPI shutdown for {timeout:g}s")
    halt(guest, f"{guest.spec.name}: powered off by the hypervisor")


def check_image(path: Path | None) -> None:
    """The image the guest boots from can be read (blocking: run it in a thread)."""
    if path is None:
        return
    try:
        with open(path, "rb") as fh:
            fh.read(512)
    except OSError as exc:
        raise ImageUnusable(f"image {path} is unusable: {exc.strerror or exc}") from None


def diagnostics(guest: Guest, driver: str, hypervisor: str) -> Diagnostics:
    s = guest.spec
    up = guest.uptime()
    running = guest.state == PowerState.RUNNING
    nics = [NicDiagnostics(mac_address=str(p.get("mac_address", f"fa:16:3e:00:00:{i:02x}")))
            for i, p in enumerate(guest.network_info)]
    disks = 1 + (s.ephemeral_gb > 0) + (s.swap_mb > 0)
    return Diagnostics(
        state=guest.state, driver=driver, hypervisor=hypervisor,
        hypervisor_os="linux", uptime=up if running else None, config_drive=False,
        num_cpus=s.vcpus, num_nics=len(nics), num_disks=disks,
        memory_details={"maximum": s.memory_mb, "used": s.memory_mb // 2 if running else 0},
        cpu_details=[CpuDiagnostics(id=i, time=up * 50_000_000, utilisation=5 if running else 0)
                     for i in range(s.vcpus)],
        nic_details=nics, disk_details=[DiskDiagnostics() for _ in range(disks)])
