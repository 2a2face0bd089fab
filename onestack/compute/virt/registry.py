"""Which hypervisor driver a compute agent uses, chosen by ``compute.compute_driver``."""

from __future__ import annotations

from collections.abc import Callable

from onestack.compute.virt.driver import ComputeDriver
from onestack.compute.virt.fake import FakeDriver, FakeFabric, FakeHostConfig
from onestack.core.config import Config, ConfigError

DriverFactory = Callable[[Config, str, FakeFabric], ComputeDriver]

# Real drivers register here when they exist; until then naming one is a clear config error.
PLANNED = ("libvirt", "qemu")


def _names(listed: str) -> set[str]:
    return {n.strip() for n in listed.split(",") if n.strip()}


def fake_host_config(config: Config, hostname: str) -> FakeHostConfig:
    c = config.compute
    return FakeHostConfig(hostname=hostname, vcpus=c.fake_host_vcpus, memory_mb=c.fake_host_memory_mb,
                          local_gb=c.fake_host_disk_gb, spawn_latency=c.fake_spawn_latency,
                          cpu_allocation_ratio=c.cpu_allocation_ratio, ram_allocation_ratio=c.ram_allocation_ratio,
                          disk_allocation_ratio=c.disk_allocation_ratio,
                          fail_spawn_for=_names(c.fake_fail_spawn), fail_spawn_probability=c.fake_fail_spawn_probability,
                          fail_destroy_for=_names(c.fake_fail_destroy),
                          live_migration_latency=c.fake_live_migration_latency)


def _fake(config: Config, hostname: str, fabric: FakeFabric) -> ComputeDriver:
    return FakeDriver(fake_host_config(config, hostname),
                      state_dir=config.data_dir / "compute" / hostname, fabric=fabric)


DRIVERS: dict[str, DriverFactory] = {"fake": _fake}


def build_driver(config: Config, hostname: str, *, fabric: FakeFabric | None = None) -> ComputeDriver:
    """The configured driver for one host. Fake hosts sharing ``fabric`` can live-migrate to each other."""
    name = config.compute.compute_driver.strip().lower()
    factory = DRIVERS.get(name)
    if factory is None:
        later = " (not implemented yet)" if name in PLANNED else ""
        raise ConfigError(f"compute.compute_driver: unknown driver {name!r}{later}; "
                          f"choose one of {sorted(DRIVERS)}")
    return factory(config, hostname, fabric or FakeFabric())


def build_drivers(config: Config, hostnames: list[str]) -> dict[str, ComputeDriver]:
    """One driver per host, all on one fabric (``onestack up --compute-hosts N``)."""
    fabric = FakeFabric()
    return {name: build_driver(config, name, fabric=fabric) for name in hostnames}
