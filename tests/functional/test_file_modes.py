"""Everything onestack keeps in its data dir is private: files 0600, directories 0700.

The cloud starts on a data dir that already exists as 0755 (made by hand, or by an older
onestack), boots a server, takes a snapshot of it, uploads an image and imports a staged one;
then every file and directory below the data dir, the dir itself included, is checked while the
cloud runs (SQLite's ``-wal`` and ``-shm`` exist only then).
"""

from __future__ import annotations

import os
import stat
import uuid
from pathlib import Path
from typing import Any

from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.compute_support import act, call
from tests.functional.image_http import ImageHttp

MV = "2.45"  # createImage answers the image id


def modes(root: Path) -> dict[str, str]:
    """``{relative path: octal mode}`` of every entry below ``root`` and of ``root`` itself."""
    found = {".": oct(stat.S_IMODE(root.stat().st_mode))}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath) / name
            found[str(path.relative_to(root))] = oct(stat.S_IMODE(path.lstat().st_mode))
    return found


def boot(conn: Any) -> str:
    image = conn.image.find_image("onestack-tiny-x86_64-disk").id
    resp = call(conn, "POST", "/servers", MV, {"server": {"name": f"fm-{uuid.uuid4().hex[:6]}", "imageRef": image,
                                                          "flavorRef": "1", "networks": "none"}})
    assert resp.status_code == 202, resp.text
    sid = str(resp.json()["server"]["id"])
    wait_until(lambda: call(conn, "GET", f"/servers/{sid}", MV).json()["server"]["status"] == "ACTIVE",
               timeout=30, what="server ACTIVE")
    return sid


def test_every_file_is_private(tmp_path: Path) -> None:
    cloud: RunningCloud = make_cloud(tmp_path)
    cloud.data_dir.mkdir()
    cloud.data_dir.chmod(0o755)
    try:
        cloud.start()
        assert cloud.log_path is not None
        assert f"data dir {cloud.data_dir} was open to others (mode 0755); made it 0700" in cloud.log_path.read_text()
        demo = cloud.sdk("devstack")
        sid = boot(demo)
        snap = act(demo, sid, {"createImage": {"name": "fm-snap"}}, MV)
        assert snap.status_code == 202, snap.text
        images = ImageHttp(cloud, demo)
        uploaded = images.create()["id"]
        assert images.put_file(uploaded, b"x" * 4096).status_code == 204
        staged = images.create()["id"]
        assert images.stage(staged, b"y" * 4096).status_code == 204
        assert images.import_(staged).status_code == 202
        for image_id in (uploaded, staged, snap.json()["image_id"]):
            images.wait_status(image_id, "active")

        found = modes(cloud.data_dir)
        # What the run must have made, so the walk below cannot pass on an empty tree.
        sqlite = not cloud.external_db_url
        host = cloud.compute_host()
        expected = ["host-name", "clouds.yaml", "secrets.json", "openrc", "fernet-keys/0", "credential-keys/0",
                    f"images/{uploaded}", f"images/{staged}", f"compute/{host}/guests", "image-staging",
                    *(["onestack.db", "onestack.db-wal", "onestack.db-shm"] if sqlite else [])]
        assert not [name for name in expected if name not in found], sorted(found)
        assert [name for name in found if name.startswith(f"compute/{host}/images/")], "the host's image cache"
        wrong = {name: mode for name, mode in found.items()
                 if mode != ("0o700" if (cloud.data_dir / name).is_dir() else "0o600")}
        assert not wrong, wrong
    finally:
        cloud.close()
