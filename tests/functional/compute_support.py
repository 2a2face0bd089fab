"""What the compute functional test modules share: a module-scoped cloud and raw HTTP helpers."""

from __future__ import annotations

import struct
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

from tests.functional.cloud import RunningCloud, make_cloud, wait_until


def module_cloud(name: str, env: dict[str, str] | None = None) -> Callable[..., Any]:
    """A module-scoped fixture running a cloud of the module's own; assign it to the fixture's name.

    The sdk connections on it (cadmin, cdemo, calt) are in conftest.py and expect the name ``ccloud``.
    """
    @pytest.fixture(scope="module")
    def running_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningCloud]:
        # No DevStack networks unless asked: with private and shared a boot that names no network
        # is ambiguous (409, as in Nova); these clouds' servers boot with none (networking tests
        # make the networks they need).
        running = make_cloud(Path(tmp_path_factory.mktemp(name)),
                             {"ONESTACK_NETWORK__BOOTSTRAP_NETWORKS": "false", **(env or {})})
        running.start()
        yield running
        running.close()

    return running_cloud


def call(conn: Any, method: str, path: str, mv: str | None = None, body: Any = None, *,
         raw: bytes | None = None, service: str = "compute", **kwargs: Any) -> Any:
    """Raw HTTP to a service of the cloud (compute by default); error statuses are returned, not raised.

    ``raw`` sends bytes as the JSON body as they are (for malformed-body tests) instead of ``body``.
    """
    headers = {"OpenStack-API-Version": f"compute {mv}"} if mv else {}
    headers.update(kwargs.pop("headers", {}))
    if raw is not None:
        headers["Content-Type"] = "application/json"
        kwargs["data"] = raw
    else:
        kwargs["json"] = body
    return conn.session.request(path, method, headers=headers, raise_exc=False,
                                endpoint_filter={"service_type": service}, **kwargs)


def boot_bare(conn: Any, name: str, mv: str = "2.87") -> str:
    """Boot m1.tiny from the tiny image with no network; the server's id once it is ACTIVE."""
    image = conn.image.find_image("onestack-tiny-x86_64-disk").id
    resp = call(conn, "POST", "/servers", mv, {"server": {"name": name, "imageRef": image, "flavorRef": "1",
                                                          "networks": "none"}})
    assert resp.status_code == 202, resp.text
    sid = str(resp.json()["server"]["id"])
    wait_until(lambda: call(conn, "GET", f"/servers/{sid}", mv).json()["server"]["status"] == "ACTIVE",
               timeout=30, what=f"{name} ACTIVE")
    return sid


def act(conn: Any, sid: str, body: dict[str, Any], mv: str | None = None) -> Any:
    """POST a server action."""
    return call(conn, "POST", f"/servers/{sid}/action", mv, body)


def message(resp: Any) -> str:
    """The message of a Nova-shaped error body ({"badRequest": {"code": ..., "message": ...}})."""
    return str(next(iter(resp.json().values()))["message"])


# --- the noVNC console: a URL, its websocket, an RFB client up to ServerInit ------------------

def console_url(conn: Any, sid: str) -> str:
    body = conn.compute.create_console(sid, console_type="novnc")
    assert body["type"] == "novnc"
    return str(body["url"])


def websocket_url(page_url: str) -> str:
    """Where noVNC opens its websocket: ``path`` below the host's root."""
    parts = urllib.parse.urlsplit(page_url)
    path = urllib.parse.parse_qs(parts.query)["path"][0]
    return f"ws://{parts.netloc}/{path.lstrip('/')}"


def open_console(url: str, **kwargs: Any) -> ClientConnection:
    return connect(url, subprotocols=["binary"], open_timeout=10, **kwargs)  # type: ignore[list-item]


def rfb_handshake(ws: ClientConnection, version: bytes = b"RFB 003.008\n") -> tuple[int, int, bytes]:
    """The client's side of RFB up to ServerInit: (width, height, desktop name)."""
    assert ws.subprotocol == "binary"
    assert ws.recv(timeout=10) == b"RFB 003.008\n"
    ws.send(version)
    if version == b"RFB 003.003\n":
        assert ws.recv(timeout=10) == struct.pack(">I", 1)  # the server decides: None
    else:
        assert ws.recv(timeout=10) == bytes((1, 1))  # one security type: None
        ws.send(bytes((1,)))
        assert ws.recv(timeout=10) == bytes(4)  # SecurityResult OK
    ws.send(bytes((1,)))  # ClientInit, shared
    init = ws.recv(timeout=10)
    assert isinstance(init, bytes)
    width, height = struct.unpack(">HH", init[:4])
    assert struct.unpack(">I", init[20:24])[0] == len(init) - 24
    return width, height, init[24:]
