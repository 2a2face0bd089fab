"""Rows made back to back (within one second) get distinct, increasing creation stamps, so lists
sorted by created_at (Cinder's default sort, Tempest's marker tests) keep creation order."""

from __future__ import annotations

from onestack.core.db import Database
from onestack.volume.service import attachments, messages
from onestack.volume.service.common import Caller, iso
from tests.unit.volume.dbhelpers import db, volume

__all__ = ["db"]

CALLER = Caller(project_id="p1", user_id="u1", is_admin=False)


def test_messages_recorded_in_one_second_keep_their_order(db: Database) -> None:
    stamps = db.run_sync(lambda s: [messages.record(s, "p1", "VOLUME", f"v{i}", "001").created_at
                                    for i in range(5)])
    assert stamps == sorted(set(stamps)), stamps
    assert all(len(str(iso(t))) == 26 for t in stamps)  # iso() prints the microseconds


def test_attachments_reserved_in_one_second_keep_their_order(db: Database) -> None:
    ids = db.run_sync(lambda s: [volume(s, status="available", attach_status="detached").id for _ in range(4)])
    stamps = db.run_sync(lambda s: [attachments.reserve(s, CALLER, vid, "server", "rw").attachment.created_at
                                    for vid in ids])
    assert stamps == sorted(set(stamps)), stamps
