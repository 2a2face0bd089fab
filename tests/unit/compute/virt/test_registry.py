"""Choosing the compute driver from configuration."""

from __future__ import annotations

import asyncio
import uuid as uuidlib
from pathlib import Path

import pytest

from onestack.compute.virt.driver import InstanceSpec, LiveMigratable, PowerState
from onestack.compute.virt.fake import FakeDriver
from onestack.compute.virt.registry import build_driver, build_drivers
from onestack.core.config import ConfigError, load_config


def test_fake_driver_gets_its_capacity_from_config(tmp_path: Path) -> None:
    cfg = load_config(environ={"ONESTACK_SERVER__DATA_DIR": str(tmp_path),
                               "ONESTACK_COMPUTE__FAKE_HOST_VCPUS": "3",
                               "ONESTACK_COMPUTE__FAKE_HOST_MEMORY_MB": "2048",
                               "ONESTACK_COMPUTE__FAKE_HOST_DISK_GB": "20",
                               "ONESTACK_COMPUTE__FAKE_SPAWN_LATENCY": "0.01",
                               "ONESTACK_COMPUTE__FAKE_FAIL_DESTROY": "undying, stuck ,"})
    driver = build_driver(cfg, "host-a")
    assert isinstance(driver, FakeDriver)
    info = asyncio.run(driver.host_info())
    assert (info.hypervisor_hostname, info.vcpus, info.memory_mb, info.local_gb) == ("host-a", 3, 2048, 20)
    assert info.hypervisor_type == "fake"
    assert driver.config.spawn_latency == 0.01
    assert driver.config.fail_destroy_for == {"undying", "stuck"}


@pytest.mark.parametrize(("name", "hint"), [("libvirt", "not implemented yet"), ("vmware", "choose one of")])
def test_unknown_driver_is_a_config_error(name: str, hint: str) -> None:
    cfg = load_config(environ={"ONESTACK_COMPUTE__COMPUTE_DRIVER": name})
    with pytest.raises(ConfigError, match=hint):
        build_driver(cfg, "h")


def test_hosts_built_together_can_live_migrate(tmp_path: Path) -> None:
    cfg = load_config(environ={"ONESTACK_SERVER__DATA_DIR": str(tmp_path)})
    hosts = build_drivers(cfg, ["h1", "h2"])
    src, dest = hosts["h1"], hosts["h2"]
    assert isinstance(src, LiveMigratable) and isinstance(dest, LiveMigratable)
    s = InstanceSpec(uuid=str(uuidlib.uuid4()), name="m", vcpus=1, memory_mb=64, root_gb=1)

    async def scenario() -> None:
        await src.spawn(s, None)
        data = await dest.check_can_live_migrate(s, block_migration=True)
        await dest.pre_live_migration(s, data)
        await src.live_migration(s.uuid, data)
        assert await dest.get_power_state(s.uuid) == PowerState.RUNNING
    asyncio.run(scenario())
