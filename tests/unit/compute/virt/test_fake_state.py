"""How a simulated host keeps its guests on disk (fake_state.py); the restart behaviour every
driver owes is in tests/contract/test_compute_drivers.py."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import Any

import pytest

from onestack.compute.virt.driver import DriverError, PowerState
from onestack.compute.virt.fake import FakeDriver, FakeHostConfig
from onestack.compute.virt.registry import build_drivers
from onestack.core.config import load_config
from tests.unit.compute.virt.helpers import fake, run, spec


def record(state_dir: Path, uid: str) -> dict[str, Any] | None:
    path = state_dir / "guests" / f"{uid}.json"
    return json.loads(path.read_text()) if path.exists() else None


def test_every_change_is_on_disk_when_the_call_returns(tmp_path: Path) -> None:
    d, s = fake(tmp_path), spec(name="kept")

    def power() -> int | None:
        doc = record(tmp_path, s.uuid)
        return None if doc is None else int(doc["guest"]["state"])

    async def scenario() -> None:
        await d.spawn(s, None, [{"id": "p1", "mac_address": "fa:16:3e:00:00:01"}])
        assert power() == PowerState.RUNNING
        doc = record(tmp_path, s.uuid)
        assert doc is not None and doc["guest"]["spec"]["name"] == "kept"
        assert doc["guest"]["network_info"][0]["id"] == "p1" and "kept login: " in doc["guest"]["console"]
        await d.power_off(s.uuid, timeout=0)
        assert power() == PowerState.SHUTDOWN
        await d.power_on(s.uuid)
        await d.pause(s.uuid)
        assert power() == PowerState.PAUSED
        await d.suspend(s.uuid)
        assert power() == PowerState.SUSPENDED
        d.simulate_crash(s.uuid)  # drift is recorded too
        assert power() == PowerState.CRASHED
        await d.destroy(s.uuid)
        assert record(tmp_path, s.uuid) is None

    run(scenario())
    assert not list((tmp_path / "guests").glob(".*"))  # no temporary files left behind


def test_a_guest_being_spawned_is_not_kept(tmp_path: Path) -> None:
    d, s = fake(tmp_path, spawn_latency=0.3), spec()

    async def scenario() -> None:
        task = asyncio.create_task(d.spawn(s, None))
        while s.uuid not in await d.list_instances():
            await asyncio.sleep(0.005)
        assert record(tmp_path, s.uuid) is None
        assert await fake(tmp_path).list_instances() == []  # a restart now: as if it never started
        await task
        assert s.uuid in await fake(tmp_path).list_instances()

    run(scenario())


def test_state_that_lives_only_in_the_fake_survives(tmp_path: Path) -> None:
    d, s = fake(tmp_path), spec(name="rescuer")

    async def scenario() -> None:
        await d.spawn(s, None, [{"id": "p1", "mac_address": "fa:16:3e:00:00:09"}])
        await d.rescue(s.uuid, None)
        again = fake(tmp_path)
        assert (await again.get_vnc_console(s.uuid)).internal_access_path == s.uuid  # its console still answers
        await d.close()
        await again.close()
        assert (await again.get_diagnostics(s.uuid)).nic_details[0].mac_address == "fa:16:3e:00:00:09"
        await again.unrescue(s.uuid)  # still rescued after the restart, so this boots its own disk
        assert "leaving rescue mode" in await again.get_console_output(s.uuid)

    run(scenario())


def test_unreadable_records_are_logged_and_set_apart(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    d, good, broken, alien = fake(tmp_path), spec(), spec(), spec()

    async def scenario() -> None:
        for s in (good, broken, alien):
            await d.spawn(s, None)

    run(scenario())
    guests = tmp_path / "guests"
    (guests / f"{broken.uuid}.json").write_text('{"format": 1, "uuid": "')  # cut off mid-write
    doc = json.loads((guests / f"{alien.uuid}.json").read_text())
    (guests / f"{alien.uuid}.json").write_text(json.dumps({**doc, "format": 99}))  # from a newer onestack
    with caplog.at_level(logging.WARNING, logger="onestack.compute.virt.fake"):
        again = fake(tmp_path)
    assert run(again.list_instances()) == [good.uuid]
    assert run(again.host_info()).memory_mb_used == good.memory_mb
    for bad in (broken, alien):
        assert any(bad.uuid in r.getMessage() and "unreadable" in r.getMessage() for r in caplog.records)
        assert (guests / f"{bad.uuid}.json.corrupt").exists()
        assert not (guests / f"{bad.uuid}.json").exists()
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="onestack.compute.virt.fake"):
        assert run(fake(tmp_path).list_instances()) == [good.uuid]
    assert not caplog.records  # set apart once, not reported at every start


def test_missing_directory_and_leftover_temporary_files(tmp_path: Path) -> None:
    assert run(fake(tmp_path / "never-used").list_instances()) == []
    d, s = fake(tmp_path), spec()
    run(d.spawn(s, None))
    leftover = tmp_path / "guests" / f".{s.uuid}.abc.tmp"  # a write a crash cut off
    leftover.write_text("{")
    assert run(fake(tmp_path).list_instances()) == [s.uuid]
    assert not leftover.exists()


def test_hosts_of_one_process_keep_their_own_guests(tmp_path: Path) -> None:
    cfg = load_config(environ={"ONESTACK_SERVER__DATA_DIR": str(tmp_path)})
    first = build_drivers(cfg, ["h1", "h2"])
    a, b = spec(), spec()

    async def scenario() -> None:
        await first["h1"].spawn(a, None)
        await first["h2"].spawn(b, None)

    run(scenario())
    again = build_drivers(cfg, ["h1", "h2"])  # `onestack up` started again on the same data dir
    assert run(again["h1"].list_instances()) == [a.uuid]
    assert run(again["h2"].list_instances()) == [b.uuid]
    assert (tmp_path / "compute" / "h1" / "guests" / f"{a.uuid}.json").exists()


def test_live_migration_moves_the_record(tmp_path: Path) -> None:
    src = FakeDriver(FakeHostConfig(hostname="src"), state_dir=tmp_path / "src")
    dest = FakeDriver(FakeHostConfig(hostname="dest"), state_dir=tmp_path / "dest", fabric=src.fabric)
    s = spec()

    async def scenario() -> None:
        await src.spawn(s, None)
        data = await dest.check_can_live_migrate(s, block_migration=True)
        await dest.pre_live_migration(s, data)
        await src.live_migration(s.uuid, data)

    run(scenario())
    assert record(tmp_path / "src", s.uuid) is None and record(tmp_path / "dest", s.uuid) is not None
    assert run(FakeDriver(FakeHostConfig(hostname="src"), state_dir=tmp_path / "src").list_instances()) == []
    assert run(FakeDriver(FakeHostConfig(hostname="dest"), state_dir=tmp_path / "dest").list_instances()) == [s.uuid]


@pytest.mark.parametrize("by", ["name", "uuid"])
def test_fail_destroy_leaves_the_guest(tmp_path: Path, by: str) -> None:
    s = spec(name="undying")
    d = fake(tmp_path)
    run(d.spawn(s, None))
    d.config.fail_destroy_for.add(s.name if by == "name" else s.uuid)
    with pytest.raises(DriverError, match="injected failure destroying undying"):
        run(d.destroy(s.uuid))
    assert run(d.list_instances()) == [s.uuid] and record(tmp_path, s.uuid) is not None
    assert run(d.host_info()).memory_mb_used == s.memory_mb
    d.config.fail_destroy_for.clear()
    run(d.destroy(s.uuid))
    assert run(d.list_instances()) == [] and record(tmp_path, s.uuid) is None


def test_a_record_that_cannot_be_written_is_logged_and_the_guest_runs(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "guests").write_text("not a directory")  # every write fails with an OSError
    d, s = fake(tmp_path), spec()
    with caplog.at_level(logging.ERROR, logger="onestack.compute.virt.fake"):
        run(d.spawn(s, None))
    assert run(d.get_power_state(s.uuid)) == PowerState.RUNNING
    assert any(s.uuid in r.getMessage() and "could not be saved" in r.getMessage() for r in caplog.records)
