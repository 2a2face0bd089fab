"""Agents' reports → volume_services and volume_pools rows; a host's desired state."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.service import heartbeats
from tests.unit.volume.dbhelpers import backend, db, pool_report, volume

__all__ = ["db"]


def _services(s: Session) -> list[tuple[str, str, str | None, int]]:
    return [(r.host, r.binary, r.agent_host, r.id) for r in
            s.scalars(select(models.VolumeService).order_by(models.VolumeService.id))]


def test_report_upserts_services_and_pools(db: Database) -> None:
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#a")),
                                                backend("h1@b", pool_report("h1@b#b", 50.0, 40.0), zone="az2")])
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#a", free=70.0))])
    assert db.run_sync(_services) == [("h1@a", "cinder-volume", "h1", 1), ("h1@b", "cinder-volume", "h1", 2)]
    pools = db.run_sync(lambda s: {p.name: (p.availability_zone, p.free_capacity_gb)
                                   for p in s.scalars(select(models.Pool))})
    assert pools == {"h1@a#a": ("nova", 70.0), "h1@b#b": ("az2", 40.0)}


def test_a_pool_no_longer_reported_goes(db: Database) -> None:
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#x"), pool_report("h1@a#y"))])
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#y"))])
    assert db.run_sync(lambda s: list(s.scalars(select(models.Pool.name)))) == ["h1@a#y"]


def test_unbounded_capacity_is_kept_in_capabilities(db: Database) -> None:
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#a", "infinite", "unknown"))])
    p = db.run_sync(lambda s: s.get(models.Pool, "h1@a#a"))
    assert (p.total_capacity_gb, p.capabilities["total_capacity_gb"], p.capabilities["free_capacity_gb"]) == (
        0.0, "infinite", "unknown")


def test_allocated_capacity_is_counted_from_the_volumes(db: Database) -> None:
    db.run_sync(lambda s: [volume(s, size=3, host="h1@a#a"), volume(s, size=4, host="h1@a#a"),
                           volume(s, size=9, host="h1@b#b")])
    db.run_sync(heartbeats.report_state, "h1", [backend("h1@a", pool_report("h1@a#a", provisioned_capacity_gb=2.0))])
    p = db.run_sync(lambda s: s.get(models.Pool, "h1@a#a"))
    assert (p.allocated_capacity_gb, p.provisioned_capacity_gb) == (7.0, 7.0)


def test_scheduler_heartbeat_is_its_own_row(db: Database) -> None:
    db.run_sync(heartbeats.heartbeat, "ctl", heartbeats.SCHEDULER_BINARY, "nova")
    db.run_sync(heartbeats.heartbeat, "ctl", heartbeats.SCHEDULER_BINARY, "nova")
    assert db.run_sync(_services) == [("ctl", "cinder-scheduler", None, 1)]


def test_desired_state_is_the_hosts_volumes_snapshots_and_backups(db: Database) -> None:
    def rows(s: Session) -> str:
        mine = volume(s, host="h1@a#a", status="available")
        volume(s, host="h10@a#a")  # another host whose name starts alike
        volume(s, host=None)
        s.add(models.Snapshot(id="s1", volume_id=mine.id, project_id="p1", user_id="u1", status="creating",
                              volume_size=1, created_at=mine.created_at))
        s.add(models.Backup(id="b1", volume_id=mine.id, project_id="p1", user_id="u1", status="creating", size=1,
                            host="h1", created_at=mine.created_at))
        return mine.id

    mine = db.run_sync(rows)
    state = db.run_sync(heartbeats.desired_state, "h1")
    assert [v["id"] for v in state["volumes"]] == [mine]
    assert state["volumes"][0]["host"] == "h1@a#a"
    assert [n["id"] for n in state["snapshots"]] == ["s1"]
    assert [b["id"] for b in state["backups"]] == ["b1"]


def test_placing_counts_on_the_pool_and_takes_free_space_only_when_thick(db: Database) -> None:
    db.run_sync(heartbeats.report_state, "h1", [
        backend("h1@a", pool_report("h1@a#a", 10.0, 10.0)),
        backend("h1@b", pool_report("h1@b#b", 10.0, 10.0, thin_provisioning_support=False,
                                    thick_provisioning_support=True))])
    db.run_sync(heartbeats.consume, "h1@a#a", 150)
    db.run_sync(heartbeats.consume, "h1@b#b", 4)
    pools = db.run_sync(lambda s: {p.name: (p.free_capacity_gb, p.allocated_capacity_gb, p.provisioned_capacity_gb)
                                   for p in s.scalars(select(models.Pool))})
    assert pools == {"h1@a#a": (10.0, 150.0, 150.0), "h1@b#b": (6.0, 4.0, 4.0)}
    db.run_sync(heartbeats.release, "h1@b#b", 4)
    assert db.run_sync(lambda s: s.get(models.Pool, "h1@b#b").allocated_capacity_gb) == 0.0
