"""Helpers for the object-storage functional tests: Swift connections for a cloud's users and raw
HTTP to the object-store endpoint (for what python-swiftclient cannot send, e.g. no Content-Length)."""

from __future__ import annotations

import http.client
import uuid
from typing import Any
from urllib.parse import quote, urlsplit

from sqlalchemy.orm import Session
from swiftclient.client import Connection

from onestack.object_store.ring import store
from onestack.object_store.ring.ring import Ring
from tests.functional.cloud import RunningCloud


def swift(cloud: RunningCloud, name: str = "devstack") -> tuple[Connection, Any]:
    """A python-swiftclient connection with the user's token and the catalog's object-store URL."""
    sdk = cloud.sdk(name)
    token = sdk.auth_token
    url = sdk.session.get_endpoint(service_type="object-store", interface="public")
    return Connection(preauthurl=url, preauthtoken=token, retries=0), sdk


# For tests that take a device or an agent away and bring it back at once: with Swift's error
# limiting the proxy would skip it for a minute after (test_object_agents_down.py tests that).
NO_ERROR_LIMIT = {"ONESTACK_OBJECT_STORE__ERROR_SUPPRESSION_INTERVAL": "0"}


def ring_of(cloud: RunningCloud) -> Ring:
    """The newest ring in the cloud's database (what its proxies and agents converge on)."""
    with cloud.engine() as engine, Session(engine) as session:
        ring = store.load_ring(session)
    assert ring is not None
    return ring


def unique(prefix: str = "c") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def raw(conn: Connection, method: str, path: str, headers: dict[str, str] | None = None,
        body: bytes | None = None, *, send_length: bool = True) -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to ``<account URL>/<path>`` (path unquoted) with the connection's token;
    ``send_length=False`` sends no Content-Length and no Transfer-Encoding at all."""
    url = urlsplit(conn.url)
    hc = http.client.HTTPConnection(url.hostname, url.port, timeout=60)
    try:
        target = url.path + "/" + quote(path)
        hc.putrequest(method, target, skip_accept_encoding=True)
        all_headers = {"X-Auth-Token": conn.token, **(headers or {})}
        if body is not None and send_length:
            all_headers.setdefault("Content-Length", str(len(body)))
        for key, value in all_headers.items():
            hc.putheader(key, value)
        hc.endheaders()
        if body:
            hc.send(body)
        resp = hc.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        hc.close()
