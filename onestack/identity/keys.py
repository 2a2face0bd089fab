"""Fernet key repositories (token keys, credential keys) in the data dir.

Layout and rotation follow Keystone's so an operator's habits carry over: files named
by integers; ``0`` is the staged key, the highest number is the primary that encrypts;
every key decrypts. Rotation promotes the staged key, stages a new one and drops the
oldest beyond ``max_active_keys`` — so a token minted before a rotation stays valid
until it expires, as long as rotations are not faster than the token lifetime allows.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from onestack.core.files import open_private, private_dir


class KeyRepository:
    def __init__(self, path: Path, max_active_keys: int = 3) -> None:
        if max_active_keys < 2:
            raise ValueError("max_active_keys must be at least 2 (a primary and a staged key)")
        self.path = path
        self.max_active_keys = max_active_keys
        self._fernet: MultiFernet | None = None
        self._loaded_mtime: float = -1.0
        # Changes whenever the keys on disk change; caches of validated tokens key on it.
        self.generation = 0

    def _indexes(self) -> list[int]:
        return sorted(int(p.name) for p in self.path.iterdir() if p.name.isdigit())

    def _write_key(self, index: int, key: bytes) -> None:
        tmp = self.path / f".{index}.tmp"
        fd = open_private(tmp)
        with os.fdopen(fd, "wb") as fh:
            fh.write(key)
        os.replace(tmp, self.path / str(index))

    def ensure(self) -> None:
        """Create the repository with a staged and a primary key if it does not exist."""
        private_dir(self.path)
        if not self._indexes():
            self._write_key(0, Fernet.generate_key())
            self._write_key(1, Fernet.generate_key())

    def rotate(self) -> int:
        """Promote the staged key to primary, stage a new key, prune the oldest; returns the new primary index."""
        self.ensure()
        indexes = self._indexes()
        new_primary = indexes[-1] + 1
        os.replace(self.path / "0", self.path / str(new_primary))
        self._write_key(0, Fernet.generate_key())
        indexes = self._indexes()
        # Keep the staged key (0) plus the newest max_active_keys - 1 others.
        others = [i for i in indexes if i != 0]
        for old in others[: max(0, len(others) - (self.max_active_keys - 1))]:
            (self.path / str(old)).unlink()
        self._fernet = None
        return new_primary

    def fernet(self) -> MultiFernet:
        mtime = self.path.stat().st_mtime
        if self._fernet is None or mtime != self._loaded_mtime:
            indexes = self._indexes()
            if not indexes:
                raise RuntimeError(f"no keys in {self.path}; run `onestack admin bootstrap`")
            # Primary first: MultiFernet encrypts with the first key.
            order = [indexes[-1], *reversed(indexes[:-1])]
            self._fernet = MultiFernet([Fernet((self.path / str(i)).read_bytes()) for i in order])
            self._loaded_mtime = mtime
            self.generation += 1
        return self._fernet

    def encrypt(self, data: bytes) -> str:
        return self.fernet().encrypt(data).decode("ascii")

    def decrypt(self, token: str) -> bytes:
        """Raises InvalidToken when no key opens it or it was tampered with."""
        # Base64 decoding ignores text after the padding; a token with a tail is not ours.
        if "=" in token.rstrip("="):
            raise InvalidToken()
        try:
            return self.fernet().decrypt(token.encode("ascii"))
        except (UnicodeEncodeError, ValueError):
            raise InvalidToken() from None


__all__ = ["InvalidToken", "KeyRepository"]
