"""Which backup store ``volume.backup_driver`` selects (the swift one's traffic: tests/functional/test_volume_backup_swift.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestack.core.config import ConfigError, load_config
from onestack.volume.agent.backup_store import BackupStore
from onestack.volume.agent.backup_swift import SwiftBackupStore, build_backup_store, prefix_of


def _store(tmp_path: Path, driver: str) -> BackupStore:
    return build_backup_store(load_config(None, environ={}, overrides={
        "server.data_dir": str(tmp_path), "volume.backup_driver": driver,
        "volume.backup_swift_object_size": 4096}))


def test_selection(tmp_path: Path) -> None:
    posix = _store(tmp_path, "posix")
    assert type(posix) is BackupStore and posix.root == tmp_path / "backups"
    swift = _store(tmp_path, "swift")
    assert isinstance(swift, SwiftBackupStore) and swift.chunk_size == 4096
    assert swift.container_of({"container": None}) == "volumebackups"  # type: ignore[typeddict-item]
    with pytest.raises(ConfigError):
        _store(tmp_path, "ceph")


def test_objects_of_a_backup_share_one_prefix() -> None:
    assert prefix_of("b1") == "backup_b1/"
