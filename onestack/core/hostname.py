"""The machine's host name, as this cloud knows it: what services and the one compute host report.

Nova's ``host`` (and Cinder's, and Swift's devices) default to ``socket.gethostname()``, so a
DevStack's services, hypervisor and servers carry the machine's name; onestack does the same.
The name is recorded in the data dir (``host-name``) at the first start and read from there
after: a machine renamed under an existing data dir keeps finding its services, hypervisor,
servers and volumes under the name they were made with (Nova would register a second compute
service and leave the instances on the old one). ``onestack up --reset`` forgets it with the rest.
"""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from pathlib import Path

from onestack.core.config import Config
from onestack.core.files import private_dir, write_private

RECORD = "host-name"


def recorded_host_name(data_dir: Path) -> str:
    """The name recorded in ``data_dir``; recorded now (this machine's) if there is none yet."""
    path = data_dir / RECORD
    found = _read(path)
    if found:
        return found
    private_dir(data_dir)
    # Processes of one cloud may start together: each writes its own file and links it into
    # place, so the first one's name is the one everybody reads.
    mine = path.with_name(f".{RECORD}.{uuid.uuid4().hex}")
    write_private(mine, (socket.gethostname() or "localhost") + "\n")
    try:
        with contextlib.suppress(FileExistsError):
            os.link(mine, path)
    finally:
        mine.unlink(missing_ok=True)
    return _read(path)


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


def server_host_name(config: Config) -> str:
    """The name this process's central services (conductor, schedulers) report: ``server.host_name``."""
    return config.server.host_name or recorded_host_name(config.data_dir)


def compute_host_name(config: Config) -> str:
    """The name of a one-host cloud's compute host (``compute.host_name``); also its hypervisor's."""
    return config.compute.host_name or recorded_host_name(config.data_dir)
