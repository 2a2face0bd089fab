"""The recovery pass (service/recovery.py) over a real image schema, stores and staging area.

Rows are written as the data path leaves them when its process dies at some point; each test
then runs one pass and checks the image, its task, its lease and the files. Runs on SQLite and,
when reachable, on PostgreSQL.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import load_config
from onestack.core.db import open_database
from onestack.core.ids import utcnow
from onestack.image import app as image_app
from onestack.image.models import DataLease, Image, Task
from onestack.image.service import data, leases, recovery
from onestack.image.service.leases import Holder
from onestack.image.state import ImageService
from onestack.image.stores import StoredImage
from onestack.image.stores.registry import build_staging, build_stores
from onestack.server import upgrade_schema
from tests.databases import postgres_database


def _dead_pid() -> int:
    """The pid of a process that has exited (and was reaped): no live process holds it now."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture(params=["sqlite", "postgresql"])
def image(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[ImageService]:
    urls = postgres_database() if request.param == "postgresql" else None
    overrides: dict[str, Any] = {"server.data_dir": str(tmp_path), "image.extra_file_stores": "cheap:cheap",
                                 "image.swift_store": False}  # just the two filesystem stores
    if urls is not None:
        overrides["database.url"] = next(urls)
    try:
        config = load_config(None, environ={}, overrides=overrides)
        db = open_database(config)
        upgrade_schema(db, [image_app.SERVICE])
        stores, default = build_stores(config)
        service = ImageService(config, db, stores, default_store=default)
        service.staging = build_staging(config)
        yield service
        db.dispose()
    finally:
        if urls is not None:
            urls.close()


def _image(service: ImageService, status: str, extra: dict[str, Any] | None = None,
           locations: list[dict[str, Any]] | None = None, image_id: str = "") -> str:
    image_id = image_id or str(uuid.uuid4())
    now = utcnow()
    service.db.run_sync(lambda s: s.add(Image(
        id=image_id, name="x", disk_format="raw", container_format="bare", status=status, visibility="private",
        owner="p", created_at=now, updated_at=now, locations=locations or [], extra=extra or {})))
    return image_id


def _lease(service: ImageService, image_id: str, kind: str, *, node: str | None = None, pid: int | None = None,
           age: timedelta = timedelta(0), task_id: str | None = None) -> str:
    token = uuid.uuid4().hex
    service.db.run_sync(lambda s: s.add(DataLease(
        token=token, image_id=image_id, kind=kind, task_id=task_id, node=node or service.holder.node,
        pid=_dead_pid() if pid is None else pid, heartbeat_at=utcnow() - age)))
    return token


def _task(service: ImageService, image_id: str) -> str:
    task_id = str(uuid.uuid4())
    now = utcnow()
    service.db.run_sync(lambda s: s.add(Task(
        id=task_id, type="api_image_import", status="processing", owner="p", image_id=image_id,
        created_at=now, updated_at=now, input={}, result={}, message="")))
    return task_id


def _file(store: Any, name: str, size: int = 10, age: float = 0.0) -> Path:
    path = Path(store.root) / name
    path.write_bytes(b"x" * size)
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def _fragment(store: Any, image_id: str, age: float = 0.0) -> Path:
    return _file(store, f".{image_id}.{uuid.uuid4().hex}.tmp", age=age)


def _row(service: ImageService, image_id: str) -> Image:
    def get(s: Session) -> Image | None:
        return s.get(Image, image_id)
    found = service.db.run_sync(get, write=False)
    assert found is not None
    return found


def _leases(service: ImageService) -> list[str]:
    return list(service.db.run_sync(lambda s: s.scalars(select(DataLease.image_id)).all(), write=False))


def _recover(service: ImageService) -> tuple[int, int]:
    return asyncio.run(recovery.recover(service))


def test_lease_liveness() -> None:
    holder = Holder(node="here")
    now = utcnow()

    def lease(node: str, pid: int, age: float = 0.0, token: str = "t") -> DataLease:
        return DataLease(token=token, image_id="i", kind="upload", node=node, pid=pid,
                         heartbeat_at=now - timedelta(seconds=age))
    mine = holder.take(Session(), "i", "upload")  # an unbound session: the row is never flushed
    assert not holder.is_dead(lease("here", holder.pid, token=mine), now)
    assert holder.is_dead(lease("here", holder.pid, token="earlier-incarnation"), now)
    assert holder.is_dead(lease("here", _dead_pid()), now)  # provable at once on this node
    assert not holder.is_dead(lease("here", os.getppid()), now)  # another live process here
    assert not holder.is_dead(lease("elsewhere", 1), now)  # another node: only the heartbeat says
    assert holder.is_dead(lease("elsewhere", 1, age=leases.GRACE.total_seconds() + 1), now)
    holder.forget(mine)
    assert holder.is_dead(lease("here", holder.pid, token=mine), now)


def test_interrupted_upload_goes_back_to_queued_and_its_files_go(image: ImageService) -> None:
    store = image.stores["file"]
    image_id = _image(image, "saving")
    _lease(image, image_id, "upload")
    fragment = _fragment(store, image_id)
    renamed = _file(store, image_id)  # the crash came between the rename and the commit
    assert _recover(image) == (1, 1)
    assert _row(image, image_id).status == "queued"
    assert not fragment.exists() and not renamed.exists()
    assert _leases(image) == []
    assert _recover(image) == (0, 0)  # nothing left to do


@pytest.mark.parametrize("elsewhere", ["another host", "another process here"])
def test_live_upload_elsewhere_is_left_alone_until_its_lease_lapses(image: ImageService, elsewhere: str) -> None:
    store = image.stores["file"]
    image_id = _image(image, "saving")
    if elsewhere == "another host":
        token = _lease(image, image_id, "upload", node="another-host", pid=1)
    else:
        token = _lease(image, image_id, "upload", pid=os.getppid())
    fragment = _fragment(store, image_id, age=3600)
    assert _recover(image) == (0, 0)
    assert _row(image, image_id).status == "saving" and fragment.exists()
    stale = utcnow() - leases.GRACE - timedelta(seconds=1)

    def lapse(s: Any) -> None:
        row = s.get(DataLease, token)
        row.heartbeat_at = stale
    image.db.run_sync(lapse)
    assert _recover(image) == (1, 1)
    assert _row(image, image_id).status == "queued" and not fragment.exists()


def test_renewal_keeps_this_process_leases_fresh(image: ImageService) -> None:
    image_id = _image(image, "saving")
    token = image.db.run_sync(lambda s: image.holder.take(s, image_id, "upload"))
    old = utcnow() - timedelta(seconds=30)

    def age(s: Any) -> None:
        s.get(DataLease, token).heartbeat_at = old
    image.db.run_sync(age)
    assert image.db.run_sync(image.holder.renew) == 1
    renewed: datetime = image.db.run_sync(lambda s: s.get(DataLease, token).heartbeat_at, write=False)
    assert renewed > old
    assert _recover(image) == (0, 0)  # ours, alive
    image.holder.forget(token)
    assert _recover(image) == (1, 0)  # forgotten without being released: dead


def test_interrupted_stage_goes_back_to_queued(image: ImageService) -> None:
    staging = image.staging
    image_id = _image(image, "uploading")
    _lease(image, image_id, "stage")
    fragment = _fragment(staging, image_id)
    staged = _file(staging, image_id)
    assert _recover(image) == (1, 1)
    assert _row(image, image_id).status == "queued"
    assert not fragment.exists() and not staged.exists()


def test_staged_image_waiting_for_import_is_not_touched(image: ImageService) -> None:
    image_id = _image(image, "uploading", extra={"staged_size": 10})
    staged = _file(image.staging, image_id)
    assert _recover(image) == (0, 0)
    assert _row(image, image_id).status == "uploading" and staged.exists()


def test_busy_image_without_any_lease_is_put_back(image: ImageService) -> None:
    """What a version without leases left behind, or a stage cut off before it recorded its size."""
    saving = _image(image, "saving")
    uploading = _image(image, "uploading")
    assert _recover(image) == (2, 0)
    assert _row(image, saving).status == "queued" and _row(image, uploading).status == "queued"


def test_interrupted_import_keeps_its_staged_data_for_a_retry(image: ImageService) -> None:
    image_id = _image(image, "importing", extra={
        "staged_size": 10, "os_glance_importing_to_stores": "file,cheap", "os_glance_failed_import": ""})
    task_id = _task(image, image_id)
    _lease(image, image_id, "import", task_id=task_id)
    staged = _file(image.staging, image_id)
    written = _file(image.stores["file"], image_id)  # the first store done, no location yet
    fragment = _fragment(image.stores["cheap"], image_id)
    assert _recover(image) == (1, 1)
    row = _row(image, image_id)
    assert row.status == "uploading" and row.extra["staged_size"] == 10
    assert row.extra["os_glance_importing_to_stores"] == "" and row.extra["os_glance_failed_import"] == "file,cheap"
    assert staged.exists() and not written.exists() and not fragment.exists()
    task = image.db.run_sync(lambda s: s.get(Task, task_id), write=False)
    assert task.status == "failure" and task.message


def test_interrupted_import_without_staged_data_goes_to_queued(image: ImageService) -> None:
    image_id = _image(image, "importing", extra={"staged_size": 10, "os_glance_importing_to_stores": "file"})
    _lease(image, image_id, "import", task_id=_task(image, image_id))
    assert _recover(image) == (1, 0)
    row = _row(image, image_id)
    assert row.status == "queued" and "staged_size" not in row.extra


def test_interrupted_copy_keeps_the_image_and_drops_the_partial_copy(image: ImageService) -> None:
    source = image.stores["file"]
    image_id = str(uuid.uuid4())
    location = {"url": source.location_for(image_id), "store": "file", "metadata": {"store": "file"}}
    _image(image, "active", extra={"os_glance_importing_to_stores": "cheap", "stores": "file"},
           locations=[location], image_id=image_id)
    kept = _file(source, image_id)
    copied = _file(image.stores["cheap"], image_id)
    task_id = _task(image, image_id)
    _lease(image, image_id, "copy", task_id=task_id)
    assert _recover(image) == (1, 0)
    row = _row(image, image_id)
    assert row.status == "active" and row.extra["os_glance_failed_import"] == "cheap"
    assert kept.exists() and not copied.exists()
    assert image.db.run_sync(lambda s: s.get(Task, task_id), write=False).status == "failure"


def test_fragment_without_lease_waits_out_the_grace(image: ImageService) -> None:
    """A write with no lease (the built-in images at bootstrap) may be under way: young fragments stay."""
    store = image.stores["file"]
    young = _fragment(store, str(uuid.uuid4()))
    old = _fragment(store, str(uuid.uuid4()), age=leases.GRACE.total_seconds() + 5)
    assert _recover(image) == (0, 1)
    assert young.exists() and not old.exists()


def test_stray_processing_task_is_failed(image: ImageService) -> None:
    image_id = _image(image, "active")
    task_id = _task(image, image_id)
    _recover(image)
    assert image.db.run_sync(lambda s: s.get(Task, task_id), write=False).status == "failure"


def _restart_upload(s: Session, service: ImageService, image_id: str) -> str:
    row = s.get(Image, image_id)
    assert row is not None and row.status == "queued"
    row.status = "saving"
    return service.holder.take(s, image_id, "upload")


def test_a_late_finish_after_recovery_changes_nothing(image: ImageService) -> None:
    """A process that stalled past the grace comes back after its upload was put back and begun anew."""
    image_id = _image(image, "saving")
    stale = image.db.run_sync(lambda s: image.holder.take(s, image_id, "upload"))
    image.holder.forget(stale)  # as if it stopped renewing: dead
    assert _recover(image) == (1, 0)
    fresh = image.db.run_sync(lambda s: _restart_upload(s, image, image_id))
    stored = StoredImage(location=image.stores["file"].location_for(image_id), size=1, checksum="0" * 32,
                         os_hash_value="0" * 128)
    assert image.db.run_sync(data.finish_upload, image_id, "file", stored, None, stale) is False
    image.db.run_sync(data.revert_to_queued, image_id, ("saving",), stale)
    assert _row(image, image_id).status == "saving"  # the new upload's, untouched
    assert image.db.run_sync(data.finish_upload, image_id, "file", stored, None, fresh) is True
    assert _row(image, image_id).status == "active"


def test_interrupted_location_import_goes_back_to_queued_and_leaves_the_data(image: ImageService) -> None:
    store = image.stores["file"]
    data_file = _file(store, f"svc-{uuid.uuid4()}")
    url = data_file.as_uri()
    image_id = _image(image, "importing", locations=[{"url": url, "metadata": {"store": "file"}, "store": "file"}])
    task_id = _task(image, image_id)
    _lease(image, image_id, "location", task_id=task_id)
    assert _recover(image) == (1, 0)
    row = _row(image, image_id)
    assert row.status == "queued" and row.locations == [] and row.os_hash_value is None
    assert data_file.exists()  # the caller's data, not ours
    task = image.db.run_sync(lambda s: s.get(Task, task_id), write=False)
    assert task is not None and task.status == "failure"
    assert _leases(image) == []
