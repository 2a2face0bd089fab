"""Files and directories of the data dir: private to the user onestack runs as.

The data dir holds the database, token and credential keys, passwords and every image: files
are created 0600 and directories 0700 here, explicitly, whatever the process umask (the CLI
also sets 077, for what libraries create). A data dir that already exists with a wider mode
(made by hand, or by an older onestack) is tightened at start, or refused when it is not ours.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from onestack.core.config import ConfigError

log = logging.getLogger("onestack")

FILE_MODE = 0o600
DIR_MODE = 0o700
UMASK = 0o077


class DataDirError(ConfigError):
    """The data dir is open to others and cannot be made private."""


def private_umask() -> None:
    """Whatever the process (and the libraries in it) creates from now on is private."""
    os.umask(UMASK)


def private_dir(path: Path) -> Path:
    """``mkdir -p`` that makes every missing level 0700 (``Path.mkdir(parents=True)`` makes the
    parents with the umask's mode, typically 0755)."""
    missing: list[Path] = []
    level = path
    while not level.exists():
        missing.append(level)
        level = level.parent
    for directory in reversed(missing):
        try:
            directory.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # made meanwhile by another task of ours
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_TRUNC) -> int:
    """A descriptor on ``path``, created 0600 when it does not exist."""
    return os.open(path, flags | os.O_CREAT, FILE_MODE)


def write_private(path: Path, data: str | bytes) -> None:
    """``path`` holds ``data`` and nobody else can read it (an existing file is tightened too)."""
    fd = open_private(path)
    os.fchmod(fd, FILE_MODE)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data.encode("utf-8") if isinstance(data, str) else data)


def private_file(path: Path) -> None:
    """``path`` exists, empty if it did not, and is 0600: SQLite then gives its ``-wal``,
    ``-shm`` and journal files the mode of the database file."""
    os.close(open_private(path, os.O_RDONLY))
    for companion in (path, *(path.with_name(path.name + s) for s in ("-wal", "-shm", "-journal"))):
        tighten(companion)


def tighten(path: Path) -> None:
    """An existing file or directory ``path`` that group or others can use becomes private."""
    try:
        st = path.lstat()
    except FileNotFoundError:
        return
    if stat.S_ISLNK(st.st_mode) or not stat.S_IMODE(st.st_mode) & UMASK:
        return
    path.chmod(DIR_MODE if stat.S_ISDIR(st.st_mode) else FILE_MODE)


def secure_data_dir(path: Path, owner: int | None = None) -> Path:
    """The data dir, made 0700, or tightened to 0700 with a warning when group or others can use it.

    One that others can use but that is not ``owner``'s (the current user by default), or whose
    mode cannot be changed, is refused: onestack would keep secrets in a place others can reach.
    """
    if not path.exists():
        return private_dir(path)
    st = path.stat()
    mode = stat.S_IMODE(st.st_mode)
    if not mode & UMASK:
        return path
    owner = os.getuid() if owner is None else owner
    if st.st_uid != owner:
        raise DataDirError(f"data dir {path} is open to others (mode {mode:04o}) and owned by uid {st.st_uid}, "
                           f"not by uid {owner} that onestack runs as: make it 0700 or use another --data-dir")
    try:
        path.chmod(DIR_MODE)
    except OSError as exc:
        raise DataDirError(f"data dir {path} is open to others (mode {mode:04o}) and cannot be made 0700: {exc}") \
            from exc
    log.warning("data dir %s was open to others (mode %04o); made it 0700", path, mode)
    return path


__all__ = ["DataDirError", "open_private", "private_dir", "private_file", "private_umask", "secure_data_dir",
           "tighten", "write_private"]
