"""The noVNC console end to end: a console URL from openstacksdk / the CLI, the viewer page, and
the websocket through which an RFB client reaches the simulated guest (nova-novncproxy's job).
"""

from __future__ import annotations

import struct
import urllib.parse
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from websockets.exceptions import InvalidStatus

from tests.functional.cloud import RunningCloud, wait_until
from tests.functional.compute_support import (
    call,
    console_url,
    open_console,
    rfb_handshake,
    websocket_url,
)

IMAGE = "onestack-tiny-x86_64-disk"


def boot(conn: Any, name: str) -> str:
    image = conn.image.find_image(IMAGE, ignore_missing=False)
    flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
    server = conn.compute.create_server(name=name, image_id=image.id, flavor_id=flavor.id, networks="none")
    wait_until(lambda: conn.compute.get_server(server.id).status == "ACTIVE", timeout=60, what=f"{name} ACTIVE")
    return str(server.id)


@pytest.fixture(scope="module")
def vm(demo: Any) -> Iterator[tuple[str, str]]:
    name = f"vnc-{uuid.uuid4().hex[:6]}"
    sid = boot(demo, name)
    yield sid, name
    demo.compute.delete_server(sid, ignore_missing=True)


def test_console_page_and_rfb_session(cloud: RunningCloud, demo: Any, vm: tuple[str, str]) -> None:
    sid, name = vm
    url = console_url(demo, sid)
    assert url.startswith(f"{cloud.base_url}/novnc/vnc_lite.html?path=%3Ftoken%3D")
    page = httpx.get(url, timeout=10)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "<html" in page.text and "</html>" in page.text and "noVNC" in page.text and "<script" in page.text
    with open_console(websocket_url(url)) as ws:
        width, height, desktop = rfb_handshake(ws)
        assert (width, height) == (640, 480) and desktop == name.encode()
        ws.send(struct.pack(">BBHHHH", 3, 0, 0, 0, 4, 2))  # FramebufferUpdateRequest, full, 4x2
        update = ws.recv(timeout=10)
        assert isinstance(update, bytes)
        assert update[:4] == struct.pack(">BxH", 0, 1)  # FramebufferUpdate, one rectangle
        assert struct.unpack(">HHHHi", update[4:16]) == (0, 0, 4, 2, 0)  # raw encoding
        while len(update) < 16 + 4 * 2 * 4:
            more = ws.recv(timeout=10)
            assert isinstance(more, bytes)
            update += more
        assert update[16:] == bytes(32)  # black


def test_cli_url_token_in_cookie_and_rfb_33(cloud: RunningCloud, vm: tuple[str, str]) -> None:
    sid, name = vm
    url = cloud.cli("console", "url", "show", sid, cloud="devstack")["url"]
    token = urllib.parse.unquote(urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)["path"][0]).split("=", 1)[1]
    netloc = urllib.parse.urlsplit(url).netloc
    # Older noVNC sends the token as a cookie to /websockify; the token stays good until it expires.
    for _ in range(2):
        with open_console(f"ws://{netloc}/websockify", additional_headers={"Cookie": f"token={token}"}) as ws:
            assert rfb_handshake(ws, b"RFB 003.003\n")[2] == name.encode()


def test_bad_token_is_refused(cloud: RunningCloud, demo: Any, vm: tuple[str, str]) -> None:
    url = websocket_url(console_url(demo, vm[0]))
    for bad in (url.replace("token=", "token=bad"), url.split("?")[0], url.replace("token=", "token=" + "x" * 36)):
        with pytest.raises(InvalidStatus) as refused:
            open_console(bad)
        assert refused.value.response.status_code == 403


def test_deleted_server_closes_its_consoles(cloud: RunningCloud, demo: Any) -> None:
    sid = boot(demo, f"vnc-gone-{uuid.uuid4().hex[:6]}")
    url = websocket_url(console_url(demo, sid))
    with open_console(url) as ws:
        rfb_handshake(ws)
    demo.compute.delete_server(sid)
    wait_until(lambda: call(demo, "GET", f"/servers/{sid}").status_code == 404, timeout=60, what=f"{sid} gone")
    with pytest.raises(InvalidStatus) as refused:
        open_console(url)
    assert refused.value.response.status_code == 403
