"""The machine's host name as a data dir records it (onestack/core/hostname.py)."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from onestack.core.config import Config
from onestack.core.hostname import RECORD, compute_host_name, recorded_host_name, server_host_name


def test_first_call_records_the_machine_name_privately(tmp_path: Path) -> None:
    data = tmp_path / "new" / "data"
    assert recorded_host_name(data) == socket.gethostname()
    assert (data / RECORD).read_text() == socket.gethostname() + "\n"
    assert (data / RECORD).stat().st_mode & 0o777 == 0o600
    assert data.stat().st_mode & 0o777 == 0o700
    assert sorted(p.name for p in data.iterdir()) == [RECORD]  # no temporary file left


def test_a_recorded_name_is_kept(tmp_path: Path) -> None:
    (tmp_path / RECORD).write_text("old-box\n")
    assert recorded_host_name(tmp_path) == "old-box"
    assert (tmp_path / RECORD).read_text() == "old-box\n"


def test_concurrent_first_starts_agree(tmp_path: Path) -> None:
    with ThreadPoolExecutor(8) as pool:
        names = set(pool.map(lambda _: recorded_host_name(tmp_path), range(32)))
    assert names == {socket.gethostname()}


def test_configured_names_win_and_default_to_the_record(tmp_path: Path) -> None:
    (tmp_path / RECORD).write_text("old-box\n")
    config = Config()
    config.server.data_dir = str(tmp_path)
    assert (server_host_name(config), compute_host_name(config)) == ("old-box", "old-box")
    config.server.host_name, config.compute.host_name = "ctl", "cmp"
    assert (server_host_name(config), compute_host_name(config)) == ("ctl", "cmp")
