"""Delayed delete: DELETE hides the image as pending_delete, the scrubber removes its data later."""

from __future__ import annotations

import os
import signal
import time
from typing import Any

from sqlalchemy import text

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.image_http import ImageHttp, stray_files


def _db_status(cloud: RunningCloud, image_id: str) -> str | None:
    """The image row's status as stored (pending_delete images are invisible through the API)."""
    with cloud.engine() as engine, engine.connect() as db:
        status = db.execute(text("SELECT status FROM images WHERE id = :id"), {"id": image_id}).scalar()
    return None if status is None else str(status)


def _start(cloud: RunningCloud, scrub_time: int) -> ImageHttp:
    cloud.env.update({
        "ONESTACK_IMAGE__DELAYED_DELETE": "true",
        "ONESTACK_IMAGE__SCRUB_TIME": str(scrub_time),
        "ONESTACK_IMAGE__SCRUBBER_INTERVAL": "0.2",
        "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
    })
    cloud.start()
    return ImageHttp(cloud, cloud.sdk("devstack"))


def _upload(http: ImageHttp) -> dict[str, Any]:
    image = http.create()
    assert http.put_file(image["id"], os.urandom(4096)).status_code == 204
    return image


def test_pending_delete_keeps_data_until_scrubbed(fresh_cloud: RunningCloud) -> None:
    http = _start(fresh_cloud, scrub_time=1)
    image = _upload(http)
    image_id = image["id"]
    files = stray_files(fresh_cloud.data_dir, image_id)
    assert files

    started = time.monotonic()
    assert http.http.delete(f"/v2/images/{image_id}").status_code == 204
    # Hidden at once, like a deleted image, while the data stays for the scrubber.
    assert http.http.get(f"/v2/images/{image_id}").status_code == 404
    assert http.http.get(f"/v2/images/{image_id}/file").status_code == 404
    assert http.http.delete(f"/v2/images/{image_id}").status_code == 404
    listed = http.http.get("/v2/images").json()["images"]
    assert image_id not in [i["id"] for i in listed]
    assert _db_status(fresh_cloud, image_id) == "pending_delete"
    assert all(f.exists() for f in files)

    wait_until(lambda: not stray_files(fresh_cloud.data_dir, image_id), timeout=30, what="scrubbed data")
    assert time.monotonic() - started >= 0.9  # scrub_time was honoured
    wait_until(lambda: _db_status(fresh_cloud, image_id) == "deleted", timeout=30, what="status deleted")
    assert http.http.get(f"/v2/images/{image_id}").status_code == 404

    # An image without data has nothing to scrub: it is deleted straight away.
    queued = http.create()
    assert http.http.delete(f"/v2/images/{queued['id']}").status_code == 204
    assert _db_status(fresh_cloud, queued["id"]) == "deleted"


def test_scrubber_finishes_after_a_crash(fresh_cloud: RunningCloud) -> None:
    http = _start(fresh_cloud, scrub_time=3600)
    gone_first = _upload(http)["id"]  # its data will vanish before the row is marked (crash mid-scrub)
    intact = _upload(http)["id"]
    for image_id in (gone_first, intact):
        assert http.http.delete(f"/v2/images/{image_id}").status_code == 204
        assert _db_status(fresh_cloud, image_id) == "pending_delete"
    fresh_cloud.stop(signal.SIGKILL)
    for path in stray_files(fresh_cloud.data_dir, gone_first):
        path.unlink()
    assert stray_files(fresh_cloud.data_dir, intact)

    http = _start(fresh_cloud, scrub_time=0)
    for image_id in (gone_first, intact):
        wait_until(lambda i=image_id: _db_status(fresh_cloud, i) == "deleted", timeout=30, what=f"{image_id} deleted")
    assert not stray_files(fresh_cloud.data_dir, intact)
