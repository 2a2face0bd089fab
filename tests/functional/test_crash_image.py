"""``kill -9`` of the cloud in the middle of image uploads, stages, imports and copies, then a restart.

Each round streams a large body (or runs a large import) and SIGKILLs the cloud once the
image's temporary file in the store holds a seeded random number of bytes, so the kill lands
mid-write; the last kill point of each kind is "the stream is complete", which lands around
the rename and the commit (or, for an import or a copy, right after the 202). After the restart, within a deadline: no image is left ``saving``
or ``importing`` and none ``uploading`` without complete staged data, the interrupted images
take a fresh upload (or import) that reads back with the right checksum, no import task is
left ``processing``, no temporary file remains in the stores or the staging area, and each
image dir holds exactly the files of the images the API calls active, with their sizes, which
is also what ``GET /v2/info/usage`` counts.

A second image API process on the same database and store keeps its upload going while the
first is killed and restarted: recovery leaves a live process's work alone.

``ONESTACK_CRASH_SEED`` and ``ONESTACK_CRASH_ROUNDS`` change the kill points and their number.
"""

from __future__ import annotations

import functools
import hashlib
import os
import random
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.functional.cloud import RunningCloud, free_port, make_cloud, wait_until
from tests.functional.image_http import OCTET, ImageHttp, pattern_stream
from tests.functional.multiprocess import Proc

MIB = 1024 * 1024
SIZE = 48 * MIB  # big enough that a write takes a while, small enough for a 2-core machine
SEED = int(os.environ.get("ONESTACK_CRASH_SEED", "") or 20261206)
ROUNDS = int(os.environ.get("ONESTACK_CRASH_ROUNDS", "") or 3)
STORES = {"file": "images", "cheap": "cheap-images"}
IMAGE_DIRS = (*STORES.values(), "image-staging")
BUSY = ("saving", "uploading", "importing")
PATTERN_MD5 = hashlib.md5(b"".join(pattern_stream(SIZE))).hexdigest()

kills: list[str] = []  # what each kill interrupted, for the summary line


@pytest.fixture(scope="module", autouse=True)
def summary() -> Iterator[None]:
    yield
    print(f"\nimage crash test: {len(kills)} kills survived (seed {SEED}): {', '.join(kills)}")


@pytest.fixture(scope="module")
def crashy(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
    running = make_cloud(tmp_path_factory.mktemp("crash-image"), extra_env={
        "ONESTACK_IMAGE__EXTRA_FILE_STORES": "cheap:cheap-images",
        "ONESTACK_IMAGE__SWIFT_STORE": "false",  # just the two filesystem stores
        "ONESTACK_IMAGE__BUILTIN_IMAGES": "false",
    })
    running.start()
    yield running
    running.close()


def _user(cloud: RunningCloud) -> ImageHttp:
    return ImageHttp(cloud, cloud.sdk("devstack"))


def _fragments(cloud: RunningCloud, image_id: str = "") -> list[Path]:
    return [p for d in IMAGE_DIRS for p in (cloud.data_dir / d).glob(f".{image_id}*.tmp")]


def _written(cloud: RunningCloud, image_id: str, dirs: tuple[str, ...]) -> int:
    """Bytes of ``image_id`` in ``dirs``: its temporary files and complete files."""
    total = 0
    for d in dirs:
        for path in [*(cloud.data_dir / d).glob(f".{image_id}.*.tmp"), cloud.data_dir / d / image_id]:
            try:
                total += path.stat().st_size
            except FileNotFoundError:
                pass
    return total


def _in_background(fn: Callable[[], Any]) -> threading.Thread:
    def run() -> None:
        try:
            fn()
        except httpx.HTTPError:  # the server died under the request: expected
            pass
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def _kill_at(cloud: RunningCloud, image_id: str, dirs: tuple[str, ...], at: int | None,
             done: threading.Event) -> None:
    """SIGKILL once ``at`` bytes of the image are on disk in ``dirs`` (None: once the body is sent)."""
    if at is None:
        wait_until(done.is_set, timeout=60, interval=0.002, what="the body to be sent")
    else:
        wait_until(lambda: _written(cloud, image_id, dirs) >= at, timeout=60, interval=0.002,
                   what=f"{at} bytes of {image_id} on disk")
    cloud.stop(signal.SIGKILL)


def _body(done: threading.Event) -> Iterator[bytes]:
    yield from pattern_stream(SIZE)
    done.set()


def _kill_points(rng: random.Random, span: int) -> list[int | None]:
    """Seeded points in the middle of the write, and the end of the stream as the last one."""
    return [rng.randrange(MIB, span - 4 * MIB) for _ in range(ROUNDS - 1)] + [None]


Request = Callable[[ImageHttp, str, threading.Event], Any]  # sets the event once it sent everything


def _crash_rounds(cloud: RunningCloud, seed: int, span: int, what: str, dirs: tuple[str, ...], request: Request,
                  prepare: Callable[[ImageHttp, str], Any] = lambda user, image_id: None,
                  ) -> Iterator[tuple[ImageHttp, str, dict[str, Any], bool]]:
    """Per kill point: a new image, ``request`` on it killed at that point, a restart; then the
    image once recovery settled it, with a new connection, for the caller to check, and whether
    the kill came mid-write (so the work cannot have finished)."""
    for at in _kill_points(random.Random(seed), span):
        user = _user(cloud)
        image_id = user.create()["id"]
        prepare(user, image_id)
        done = threading.Event()
        thread = _in_background(functools.partial(request, user, image_id, done))
        _kill_at(cloud, image_id, dirs, at, done)
        thread.join(timeout=30)
        cloud.start()
        user = _user(cloud)
        shown = _settled(user, image_id)
        kills.append(f"{what}@{'end' if at is None else f'{at // MIB}MiB'}->{shown['status']}")
        yield user, image_id, shown, at is not None


def _settled(user: ImageHttp, image_id: str) -> dict[str, Any]:
    """The image once recovery put it back (or it finished): never busy without complete staged data."""
    def check() -> dict[str, Any] | None:
        shown = user.show(image_id)
        if shown["status"] in ("saving", "importing"):
            return None
        if shown["status"] == "uploading" and not _staged_complete(user.cloud, image_id):
            return None
        return shown
    return dict(wait_until(check, timeout=30, what=f"image {image_id} put back after the crash"))


def _staged_complete(cloud: RunningCloud, image_id: str) -> bool:
    path = cloud.data_dir / "image-staging" / image_id
    return path.exists() and path.stat().st_size == SIZE


def _reads_back(user: ImageHttp, image_id: str, md5: str) -> None:
    shown = user.wait_status(image_id, "active", timeout=60)
    assert shown["checksum"] == md5
    got = user.get_file(image_id)
    assert got.status_code == 200 and hashlib.md5(got.content).hexdigest() == md5


def _retry_upload(user: ImageHttp, image_id: str) -> None:
    data = os.urandom(2 * MIB + 5)
    assert user.put_file(image_id, data).status_code == 204
    _reads_back(user, image_id, hashlib.md5(data).hexdigest())


def _no_fragments(cloud: RunningCloud) -> None:
    wait_until(lambda: not _fragments(cloud), timeout=30, what="no temporary image files")


def test_kill_during_upload(crashy: RunningCloud) -> None:
    for user, image_id, shown, midway in _crash_rounds(crashy, SEED, SIZE, "upload", ("images",),
                                                       lambda u, i, done: u.put_file(i, _body(done))):
        assert shown["status"] in (("queued",) if midway else ("queued", "active")), shown
        if shown["status"] == "active":  # the kill came after the commit
            _reads_back(user, image_id, PATTERN_MD5)
        else:
            assert shown["size"] is None and shown["checksum"] is None
            _no_fragments(crashy)
            _retry_upload(user, image_id)
    _check_store(crashy)


def test_kill_during_stage(crashy: RunningCloud) -> None:
    for user, image_id, shown, midway in _crash_rounds(crashy, SEED + 1, SIZE, "stage", ("image-staging",),
                                                       lambda u, i, done: u.stage(i, _body(done))):
        assert shown["status"] in (("queued",) if midway else ("queued", "uploading")), shown
        if shown["status"] == "queued":
            assert not (crashy.data_dir / "image-staging" / image_id).exists()
            _no_fragments(crashy)
            _retry_upload(user, image_id)  # PUT /file on it works again (it answered 409 before)
        else:  # the kill came after the commit: staged, and the import works
            assert user.import_(image_id).status_code == 202
            _reads_back(user, image_id, PATTERN_MD5)
    _check_store(crashy)


ALL_STORES = {"method": {"name": "glance-direct"}, "all_stores": True}


def _start_import(user: ImageHttp, image_id: str, done: threading.Event) -> None:
    assert user.import_(image_id, ALL_STORES).status_code == 202
    done.set()  # "the end" for an import: right after it was accepted


def test_kill_during_import(crashy: RunningCloud) -> None:
    """glance-direct into both stores: the kill lands while the first or the second copy is written."""
    dirs = tuple(STORES.values())
    for user, image_id, shown, midway in _crash_rounds(
            crashy, SEED + 2, 2 * SIZE, "import", dirs, _start_import,
            prepare=lambda u, i: u.stage(i, pattern_stream(SIZE)).raise_for_status()):
        tasks = user.http.get(f"/v2/images/{image_id}/tasks").json()["tasks"]
        assert tasks and all(task["status"] in ("success", "failure") for task in tasks), tasks
        if shown["status"] == "active" and not midway:  # finished before the kill
            _reads_back(user, image_id, PATTERN_MD5)
            continue
        assert shown["status"] in ("uploading", "queued"), shown
        assert shown["os_glance_importing_to_stores"] == ""
        assert shown["os_glance_failed_import"], shown  # says where it did not get to
        assert [task["status"] for task in tasks] == ["failure"]
        _no_fragments(crashy)
        assert not any((crashy.data_dir / d / image_id).exists() for d in dirs)  # no unnamed copies
        if shown["status"] == "queued":
            assert user.stage(image_id, pattern_stream(SIZE)).status_code == 204
        assert user.import_(image_id, ALL_STORES).status_code == 202
        _reads_back(user, image_id, PATTERN_MD5)
        assert user.show(image_id)["stores"] == "cheap,file"
    _check_store(crashy)


COPY = {"method": {"name": "copy-image"}, "stores": ["cheap"]}


def _start_copy(user: ImageHttp, image_id: str, done: threading.Event) -> None:
    admin = ImageHttp(user.cloud, user.cloud.sdk("devstack-admin"))  # copy-image is for admins
    assert admin.import_(image_id, COPY).status_code == 202
    done.set()


def test_kill_during_copy(crashy: RunningCloud) -> None:
    """copy-image of an active image into the second store: the image stays active with its data."""
    for user, image_id, shown, midway in _crash_rounds(
            crashy, SEED + 3, SIZE, "copy", ("cheap-images",), _start_copy,
            prepare=lambda u, i: u.put_file(i, pattern_stream(SIZE)).raise_for_status()):
        assert shown["status"] == "active", shown
        _reads_back(user, image_id, PATTERN_MD5)
        tasks = user.http.get(f"/v2/images/{image_id}/tasks").json()["tasks"]
        assert [task["status"] for task in tasks] in ([["failure"]] if midway else [["success"], ["failure"]]), tasks
        if tasks[0]["status"] == "failure":
            assert shown["stores"] == "file" and shown["os_glance_failed_import"] == "cheap", shown
            assert not (crashy.data_dir / "cheap-images" / image_id).exists()
            _start_copy(user, image_id, threading.Event())
        wait_until(lambda u=user, i=image_id: u.show(i)["stores"] == "cheap,file", timeout=60, what="the copy")
    _check_store(crashy)


def _check_store(cloud: RunningCloud) -> None:
    """Every image settled; the stores hold exactly the active images' data; usage counts it."""
    user = _user(cloud)
    images = user.http.get("/v2/images", params={"limit": 1000}).json()["images"]
    assert not [img for img in images if img["status"] in BUSY and not (
        img["status"] == "uploading" and _staged_complete(cloud, img["id"]))]
    _no_fragments(cloud)
    active = {img["id"]: img["size"] for img in images if img["status"] == "active"}
    for store_id, d in STORES.items():
        on_disk = {p.name: p.stat().st_size for p in (cloud.data_dir / d).iterdir()}
        expected = {img["id"]: img["size"] for img in images
                    if img["status"] == "active" and store_id in img["stores"].split(",")}
        assert on_disk == expected, store_id
    staged = {p.name for p in (cloud.data_dir / "image-staging").iterdir()}
    assert staged == {img["id"] for img in images if img["status"] == "uploading"}
    usage = user.http.get("/v2/info/usage").json()["usage"]
    assert usage["image_count_uploading"]["usage"] == len(staged)
    assert usage["image_count_total"]["usage"] == len(images)
    assert usage["image_size_total"]["usage"] == -(-sum(active.values()) // MIB)
    assert usage["image_stage_total"]["usage"] == -(-len(staged) * SIZE // MIB)


def test_restart_leaves_a_live_upload_of_another_process_alone(tmp_path: Path) -> None:
    """Process B (``onestack serve image``, same database and data dir) streams an upload, paused
    half-way; process A is killed and restarted, and its start-up recovery runs. B's upload is
    still saving with its temporary file, and completes when the rest of the body comes."""
    cloud = make_cloud(tmp_path, extra_env={"ONESTACK_IMAGE__BUILTIN_IMAGES": "false"})
    cloud.start()
    port = free_port()
    second = Proc("image-b", [sys.executable, "-m", "onestack", "serve", "image", "--port", str(port),
                              "--data-dir", str(cloud.data_dir), "--db-url", cloud.db_url],
                  tmp_path / "image-b.log", {**cloud.env, "ONESTACK_AUTH__IDENTITY_URL": cloud.identity_url})

    def second_up() -> bool:
        second.check()  # raises if it exited
        return httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200

    try:
        second.start()
        wait_until(second_up, timeout=60, what="the second image process")
        user = _user(cloud)
        image_id = user.create()["id"]
        resume = threading.Event()

        def body() -> Iterator[bytes]:
            for i, chunk in enumerate(pattern_stream(SIZE)):
                if i == SIZE // MIB // 2:
                    assert resume.wait(120)
                yield chunk
        answers: list[int] = []
        with httpx.Client(base_url=f"http://127.0.0.1:{port}/image", timeout=120,
                          headers={"X-Auth-Token": user.token, **OCTET}) as via_b:
            thread = threading.Thread(target=lambda: answers.append(
                via_b.put(f"/v2/images/{image_id}/file", content=body()).status_code), daemon=True)
            thread.start()
            wait_until(lambda: _written(cloud, image_id, ("images",)) >= 8 * MIB, timeout=60,
                       what="half of the upload on disk")
            cloud.stop(signal.SIGKILL)
            cloud.start()  # its start-up recovery has run once it answers
            kills.append("beside a live upload of another process")
            user = _user(cloud)
            assert user.show(image_id)["status"] == "saving"
            assert _fragments(cloud, image_id)
            resume.set()
            thread.join(timeout=120)
        assert answers == [204]
        _reads_back(user, image_id, PATTERN_MD5)
        assert not _fragments(cloud)
    finally:
        second.stop()
        cloud.close()
