"""The simulated guests' VNC server: a minimal RFB 3.8 server, one TCP listener per fake host.

A console proxy reaches it as nova-novncproxy reaches a hypervisor that multiplexes consoles on
one port: it connects to the host's address and port, sends ``CONNECT <internal_access_path>
HTTP/1.1`` (here the guest's uuid) and, after ``200``, speaks RFB with that guest. Over TCP on
the host's address, so a proxy in another process than ``onestack agent compute`` works alike.
The screen is blank: the handshake, ServerInit with the guest's name, and raw black updates.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections.abc import Callable

log = logging.getLogger("onestack.compute.virt.fake")

WIDTH, HEIGHT = 640, 480
VERSION = b"RFB 003.008\n"
SECURITY_NONE = 1
# 32 bits per pixel, depth 24, little-endian true colour, 8 bits per channel (red in bits 16-23).
PIXEL_FORMAT = struct.pack(">BBBBHHHBBB3x", 32, 24, 0, 1, 255, 255, 255, 16, 8, 0)
# Bytes after the type byte of each client message of a fixed length (RFC 6143 section 7.5).
_FIXED = {0: 19, 3: 9, 4: 7, 5: 5}


class FakeVncServer:
    """Serves every guest of one fake host; ``name_of(uuid)`` is a console-able guest's name."""

    def __init__(self, host_ip: str, name_of: Callable[[str], str | None]) -> None:
        self.host_ip = host_ip
        self.name_of = name_of
        self._server: asyncio.Server | None = None
        self._lock = asyncio.Lock()
        self._clients: set[asyncio.Task[None]] = set()

    async def port(self) -> int:
        """The listening port, listening first if this host has not served a console yet."""
        async with self._lock:
            if self._server is None:
                self._server = await asyncio.start_server(self._serve, self.host_ip, 0)
            return int(self._server.sockets[0].getsockname()[1])

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
        for task in list(self._clients):
            task.cancel()
        await asyncio.gather(*self._clients, return_exceptions=True)
        if server is not None:
            await server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._clients.add(task)
        try:
            await self._session(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError, ValueError):
            pass  # the viewer went away or spoke nonsense: its session ends
        finally:
            if task is not None:
                self._clients.discard(task)
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _session(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        words = request.split("\r\n", 1)[0].split()
        name = self.name_of(words[1]) if len(words) == 3 and words[0] == "CONNECT" else None
        if name is None:
            writer.write(b"HTTP/1.1 404 Not Found\r\n\r\n")
            await writer.drain()
            return
        writer.write(b"HTTP/1.1 200 OK\r\n\r\n" + VERSION)
        await writer.drain()
        client = await reader.readexactly(12)
        if client[:4] != b"RFB " or client[11:] != b"\n":
            raise ValueError("not an RFB client")
        minor = int(client[8:11])
        if minor >= 7:  # 3.7 and 3.8 choose from a list; 3.8 hears the result
            writer.write(bytes((1, SECURITY_NONE)))
            await writer.drain()
            if (await reader.readexactly(1))[0] != SECURITY_NONE:
                raise ValueError("security type refused")
            if minor >= 8:
                writer.write(struct.pack(">I", 0))
        else:  # 3.3: the server decides
            writer.write(struct.pack(">I", SECURITY_NONE))
        await reader.readexactly(1)  # ClientInit: shared flag
        title = name.encode()
        writer.write(struct.pack(">HH", WIDTH, HEIGHT) + PIXEL_FORMAT + struct.pack(">I", len(title)) + title)
        await writer.drain()
        await self._messages(reader, writer)

    async def _messages(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        bytes_per_pixel = 4
        while True:
            kind = (await reader.readexactly(1))[0]
            if kind == 2:  # SetEncodings: raw is always understood, so the list changes nothing
                count = struct.unpack(">xH", await reader.readexactly(3))[0]
                await reader.readexactly(4 * count)
            elif kind == 6:  # ClientCutText
                length = struct.unpack(">3xI", await reader.readexactly(7))[0]
                await reader.readexactly(length)
            elif kind in _FIXED:
                body = await reader.readexactly(_FIXED[kind])
                if kind == 0:  # SetPixelFormat: later updates use the viewer's bits per pixel
                    bytes_per_pixel = max(1, body[3] // 8)
                elif kind == 3 and body[0] == 0:  # a full update: the whole screen, black
                    x, y, w, h = struct.unpack(">HHHH", body[1:])
                    w, h = max(0, min(w, WIDTH - x)), max(0, min(h, HEIGHT - y))
                    writer.write(struct.pack(">BxHHHHHi", 0, 1, x, y, w, h, 0) + bytes(w * h * bytes_per_pixel))
                    await writer.drain()
                # Incremental requests get nothing: a blank screen never changes.
            else:
                raise ValueError(f"unknown RFB client message {kind}")
