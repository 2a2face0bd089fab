"""Error limiting of object servers (Swift's proxy ``error_limit``): a node that keeps failing is
left alone for a while, so requests go straight to the next replica or a handoff instead of
waiting out ``node_timeout`` on it each time.

As Swift: every connection error or timeout counts one error; a node with more than
``error_suppression_limit`` errors is skipped until ``error_suppression_interval`` seconds have
passed since its last error (then its count starts again); a 507 (device unmounted) limits it at
once. Per proxy process, in memory, as Swift's is per proxy worker. Connection errors count
against the server (its address), so a stopped agent's other devices are skipped too instead of
each taking the body into a socket nobody reads (Swift finds that out with ``Expect:
100-continue``, which our HTTP client does not send); a 507 limits only its device.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

from onestack.object_store.obj.client import ObjectServerClient, ObjectServerResponse
from onestack.object_store.ring.ring import Device

log = logging.getLogger("onestack.object_store.proxy.error_limit")


@dataclass
class _Errors:
    count: int = 0
    last: float = 0.0


class ErrorLimiter:
    def __init__(self, interval: float = 60.0, limit: int = 10,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = interval
        self.limit = limit
        self.clock = clock
        self._nodes: dict[tuple[str, ...], _Errors] = {}

    @staticmethod
    def _device(node: Device) -> tuple[str, ...]:
        return ("device", node.host, node.device)

    @staticmethod
    def _server(node: Device) -> tuple[str, ...]:
        # A server that does not answer fails every device it serves (in-process devices: their own).
        return ("server", node.ip, str(node.port)) if node.port else ("device", node.host, node.device)

    def is_limited(self, node: Device) -> bool:
        return any(self._limited(key) for key in {self._server(node), self._device(node)})

    def _limited(self, key: tuple[str, ...]) -> bool:
        errors = self._nodes.get(key)
        if errors is None:
            return False
        if self.clock() - errors.last > self.interval:
            del self._nodes[key]  # quiet for a whole interval: forgiven
            return False
        return errors.count > self.limit

    def error_occurred(self, node: Device) -> None:
        """A connection error or timeout: counted against the node's server."""
        errors = self._nodes.setdefault(self._server(node), _Errors())
        if self.clock() - errors.last > self.interval:
            errors.count = 0  # the earlier errors are a whole interval old: they no longer count
        errors.count += 1
        errors.last = self.clock()
        if errors.count == self.limit + 1:
            log.warning("object server %s/%s error limited for %.0fs", node.host, node.device, self.interval)

    def error_limit(self, node: Device) -> None:
        """Skip the device now (it answered 507; the server's other devices may be fine)."""
        errors = self._nodes.setdefault(self._device(node), _Errors())
        errors.count = max(errors.count, self.limit + 1)
        errors.last = self.clock()

class CallerAbort(ConnectionError):
    """The caller's own body ended the request (a client that went away): not the node's error."""


class ErrorLimited(ConnectionError):
    """The node is error limited: not asked (the caller moves on as from a connection error)."""


async def ask(limiter: ErrorLimiter, client: ObjectServerClient, node: Device, part: int, method: str, path: str,
              headers: dict[str, str], body: bytes | AsyncIterator[bytes] = b"") -> ObjectServerResponse:
    """``client.request`` unless the node is error limited; its failures and 507s are counted."""
    if limiter.is_limited(node):
        raise ErrorLimited(f"object server {node.host}/{node.device} is error limited")
    try:
        resp = await client.request(node, part, method, path, headers, body)
    except CallerAbort:
        raise
    except (TimeoutError, ConnectionError, OSError):
        limiter.error_occurred(node)
        raise
    if resp.status == 507:
        limiter.error_limit(node)
    return resp
