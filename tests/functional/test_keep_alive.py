"""HTTP keep-alive: an idle connection outlives the pauses clients make between requests.

requests/urllib3 (openstacksdk, the ``openstack`` CLI) pool connections with no expiry; a request
sent as the server closes an idle connection meets a reset (``RemoteDisconnected``). uvicorn's
default closes after 5 s, a pause tests and users make all the time; server.keep_alive_timeout
(75 s by default) moves that moment out of the way.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from tests.functional.cloud import RunningCloud

REQUEST = b"GET /healthz HTTP/1.1\r\nHost: onestack\r\n\r\n"


def _read_response(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection before answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                  if line.lower().startswith(b"content-length:"))
    while len(body) < length:
        body += sock.recv(65536)
    return head


def test_an_idle_connection_is_kept_past_uvicorns_default(cloud: RunningCloud) -> None:
    url = urlsplit(cloud.base_url)
    with socket.create_connection((url.hostname, url.port), timeout=10) as sock:
        sock.sendall(REQUEST)
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
        # Idle longer than uvicorn's 5 s default: the wait is the condition under test, not a
        # synchronisation. A closed connection reads b"" at once; an open one times out.
        sock.settimeout(7.0)
        try:
            closed = sock.recv(1) == b""
        except TimeoutError:
            closed = False
        assert not closed, "the server closed an idle keep-alive connection within 7 s"
        sock.settimeout(10)
        sock.sendall(REQUEST)  # and the connection still serves
        assert _read_response(sock).startswith(b"HTTP/1.1 200")
