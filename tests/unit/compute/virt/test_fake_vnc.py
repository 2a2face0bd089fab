"""The fake host's VNC server: CONNECT picks a guest, then RFB 3.8 (or 3.3) up to a blank screen."""

from __future__ import annotations

import asyncio
import struct
from pathlib import Path

from tests.unit.compute.virt.helpers import fake, run, spec


async def connect(port: int, uuid: str) -> tuple[bytes, asyncio.StreamReader, asyncio.StreamWriter]:
    """A viewer's connection through the host's CONNECT step: (answer line, reader, writer)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"CONNECT {uuid} HTTP/1.1\r\n\r\n".encode())
    answer = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
    return answer.split(b"\r\n")[0], reader, writer


async def server_init(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, minor: int) -> bytes:
    assert await reader.readexactly(12) == b"RFB 003.008\n"
    writer.write(f"RFB 003.00{minor}\n".encode())
    if minor == 3:
        assert await reader.readexactly(4) == struct.pack(">I", 1)
    else:
        assert await reader.readexactly(2) == bytes((1, 1))
        writer.write(bytes((1,)))
        assert await reader.readexactly(4) == bytes(4)
    writer.write(bytes((1,)))
    head = await reader.readexactly(24)
    assert struct.unpack(">HH", head[:4]) == (640, 480)
    return await reader.readexactly(struct.unpack(">I", head[20:24])[0])


def test_rfb_session_with_the_chosen_guest(tmp_path: Path) -> None:
    d, s, other = fake(tmp_path), spec(name="screen-one"), spec(name="screen-two")

    async def scenario() -> None:
        await d.spawn(s, None)
        await d.spawn(other, None)
        info = await d.get_vnc_console(s.uuid)
        assert (info.host, info.internal_access_path) == ("127.0.0.1", s.uuid)
        assert (await d.get_vnc_console(other.uuid)).port == info.port  # one listener per host
        for guest, minor in ((s, 8), (other, 3)):
            line, reader, writer = await connect(info.port, guest.uuid)
            assert line == b"HTTP/1.1 200 OK"
            assert await server_init(reader, writer, minor) == guest.name.encode()
            writer.write(struct.pack(">BxxxBBBBHHHBBBxxx", 0, 8, 8, 0, 1, 7, 7, 3, 0, 3, 6))  # 8 bits a pixel
            writer.write(struct.pack(">BxHi", 2, 1, 0))  # SetEncodings: raw
            writer.write(struct.pack(">BBHHHH", 3, 1, 0, 0, 10, 10))  # incremental: nothing changed
            writer.write(struct.pack(">BBHHHH", 3, 0, 630, 470, 20, 20))  # full, clipped to the screen
            update = await asyncio.wait_for(reader.readexactly(16 + 10 * 10), 5)
            assert struct.unpack(">BxHHHHHi", update[:16]) == (0, 1, 630, 470, 10, 10, 0)
            assert update[16:] == bytes(100)
            writer.close()
        await d.close()

    run(scenario())


def test_unknown_or_stopped_guests_are_refused(tmp_path: Path) -> None:
    d, s = fake(tmp_path), spec()

    async def scenario() -> None:
        await d.spawn(s, None)
        port = (await d.get_vnc_console(s.uuid)).port
        assert (await connect(port, "no-such-guest"))[0] == b"HTTP/1.1 404 Not Found"
        await d.power_off(s.uuid, timeout=0)
        line, reader, _ = await connect(port, s.uuid)
        assert line == b"HTTP/1.1 404 Not Found" and await reader.read() == b""  # then closed
        await d.close()

    run(scenario())
