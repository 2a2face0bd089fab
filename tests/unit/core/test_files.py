"""The data dir's files and directories are private, whatever the umask and whatever was there."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from onestack.core.db import create_db_engine
from onestack.core.files import (
    DataDirError,
    private_dir,
    private_file,
    secure_data_dir,
    write_private,
)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that lets everyone read, so only the explicit modes can keep things private."""
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def test_new_dirs_and_files_are_private(tmp_path: Path, open_umask: None) -> None:
    deep = private_dir(tmp_path / "a" / "b" / "c")
    assert [mode(p) for p in (tmp_path / "a", tmp_path / "a" / "b", deep)] == [0o700] * 3
    assert private_dir(deep) == deep  # already there: fine
    secret = deep / "secret"
    write_private(secret, "s3cret")
    assert mode(secret) == 0o600 and secret.read_text() == "s3cret"
    secret.chmod(0o644)
    write_private(secret, b"again")  # an existing file is tightened as it is rewritten
    assert mode(secret) == 0o600 and secret.read_bytes() == b"again"


def test_sqlite_database_and_its_wal_are_private(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "onestack.db"
    engine = create_db_engine(f"sqlite:///{db}")
    try:
        with engine.begin() as conn:
            conn.exec_driver_sql("CREATE TABLE t (a INTEGER)")
            conn.exec_driver_sql("INSERT INTO t VALUES (1)")
        assert {p.name: mode(p) for p in tmp_path.iterdir()} == {
            "onestack.db": 0o600, "onestack.db-wal": 0o600, "onestack.db-shm": 0o600}
    finally:
        engine.dispose()


def test_an_older_database_is_tightened(tmp_path: Path, open_umask: None) -> None:
    db = tmp_path / "onestack.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE t (a INTEGER)")
    (tmp_path / "onestack.db-wal").write_bytes(b"")
    for path in tmp_path.iterdir():
        path.chmod(0o644)
    private_file(db)
    assert {p.name: mode(p) for p in tmp_path.iterdir()} == {"onestack.db": 0o600, "onestack.db-wal": 0o600}
    with sqlite3.connect(db) as conn:  # untouched otherwise
        assert conn.execute("SELECT count(*) FROM t").fetchone() == (0,)


def test_data_dir_made_or_tightened(tmp_path: Path, open_umask: None, caplog: pytest.LogCaptureFixture) -> None:
    made = secure_data_dir(tmp_path / "new" / "data")
    assert mode(made) == 0o700 and mode(made.parent) == 0o700
    caplog.set_level(logging.WARNING)
    open_dir = tmp_path / "open"
    open_dir.mkdir(mode=0o755)
    secure_data_dir(open_dir)
    assert mode(open_dir) == 0o700
    assert f"data dir {open_dir} was open to others (mode 0755); made it 0700" in caplog.text
    caplog.clear()
    secure_data_dir(open_dir)  # private already: nothing to say
    assert not caplog.text


def test_data_dir_of_someone_else_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    theirs.chmod(0o750)
    with pytest.raises(DataDirError, match="owned by uid"):
        secure_data_dir(theirs, owner=os.getuid() + 1)
    assert mode(theirs) == 0o750  # not ours to change
    theirs.chmod(0o700)
    assert secure_data_dir(theirs, owner=os.getuid() + 1) == theirs  # private: usable
