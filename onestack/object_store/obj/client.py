"""How the proxy and the replicators talk to an object server about one device (Swift's
object-server protocol, which the HTTP face speaks on the wire):

- ``PUT /<device>/<part>/<account>/<container>/<object>`` — ``X-Timestamp`` required; the body
  chunked or with ``Content-Length``; ``Content-Type``, ``ETag`` (checked: 422 on mismatch),
  ``X-Object-Meta-*``, ``X-Object-Sysmeta-*``, ``X-Delete-At`` and Swift's other stored headers
  (Content-Disposition, Content-Encoding, X-Object-Manifest, X-Static-Large-Object, ...) kept with
  the data. 201 with ``ETag``; 409 when a newer timestamp is already there. Then the container
  update (``container_updates.py``), unless ``X-Backend-Replication: true`` (a replicator's push,
  which keeps the given timestamp as is). ``X-Backend-Container-Update-Override-{Etag,Size,
  Content-Type}`` replace what the listing shows (SLO manifests).
- ``GET`` / ``HEAD`` — 200 with ``Content-Length``, ``ETag``, ``Content-Type``, ``Last-Modified``,
  ``X-Timestamp`` and the stored headers; ``Range`` (single → 206, several → multipart/byteranges,
  unsatisfiable → 416) and ``If-Match`` / ``If-None-Match`` / ``If-(Un)Modified-Since`` as Swift;
  404 (with ``X-Backend-Timestamp`` of the tombstone when deleted, or when expired). Every chunk
  read is checked against its checksum: a bad one quarantines the file and ends the stream with
  an error (the proxy then tries another replica if it had sent nothing yet).
- ``POST`` — replaces the user metadata (``X-Object-Meta-*``, Content-Type, X-Delete-At), 202.
- ``DELETE`` — writes a tombstone at ``X-Timestamp``; 204, or 404 when there was nothing;
  ``X-If-Delete-At`` must match (412 otherwise).
- ``REPLICATE /<device>/<part>[/<suffix>-<suffix>...]`` — the partition's suffix hashes
  (``{suffix: md5 of the newest file names}``), recomputed for the named suffixes first.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Protocol

from onestack.object_store.ring.ring import Device


class Unmounted(ConnectionError):
    """A REPLICATE answered 507: the server is up but the device is not (Swift's replicator then
    takes the next handoff in its place)."""


class StreamedBody:
    """A response whose ``body`` is bytes or a stream still to read (an object server's file or
    connection): read it whole, or close it unread. Shared by the proxy's and the object servers'
    responses."""

    body: bytes | AsyncIterator[bytes]

    async def read(self) -> bytes:
        if isinstance(self.body, bytes):
            return self.body
        out = bytearray()
        try:
            async for chunk in self.body:
                out += chunk
        finally:
            await self.close()
        self.body = bytes(out)
        return self.body

    async def close(self) -> None:
        """Release what a streamed body holds, unread."""
        closer = getattr(self.body, "aclose", None)
        if closer is not None:
            await closer()


@dataclass
class ObjectServerResponse(StreamedBody):
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes | AsyncIterator[bytes] = b""


class ObjectServerClient(Protocol):
    def is_local(self, device: Device) -> bool:
        """Whether ``device`` is served in this process (a PUT body's ``HashedBody`` MD5 is then
        used as is; over HTTP the server hashes what it receives)."""

    async def request(self, device: Device, part: int, method: str, path: str, headers: dict[str, str],
                      body: bytes | AsyncIterator[bytes] = b"") -> ObjectServerResponse:
        """One request to ``device``'s object server; ``path`` is ``/<account>/<container>/<object>``
        (unquoted). An unreachable server raises ``ConnectionError`` (or answers 507 for a missing device)."""

    async def replicate(self, device: Device, part: int, suffixes: list[str]) -> dict[str, str]:
        """The partition's suffix hashes on ``device`` (``REPLICATE``)."""
