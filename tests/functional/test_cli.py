"""The `onestack` command without a running server: config errors, admin commands, status."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.functional.cloud import REPO, create_test_database, drop_test_database, free_port


def onestack(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environ = dict(os.environ, ONESTACK_IDENTITY__PASSWORD_HASH_ROUNDS="4", **env)
    return subprocess.run([sys.executable, "-m", "onestack", *args], capture_output=True, text=True,
                          timeout=120, cwd=REPO, env=environ, check=False)


def test_help_lists_the_commands() -> None:
    result = onestack("--help")
    assert result.returncode == 0
    for command in ("up", "status", "admin"):
        assert command in result.stdout


def test_unknown_config_key_in_file_is_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "onestack.toml"
    config.write_text("[server]\nprot = 5000\n")
    result = onestack("up", "--config", str(config), "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "unknown configuration key server.prot" in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was started or written


def test_bad_environment_value_is_exit_2(tmp_path: Path) -> None:
    result = onestack("status", ONESTACK_SERVER__PORT="five")
    assert result.returncode == 2
    assert "server.port: expected an integer" in result.stderr


def test_serve_unknown_service_is_exit_2(tmp_path: Path) -> None:
    result = onestack("serve", "identity", "nova", "--data-dir", str(tmp_path / "data"))
    assert result.returncode == 2
    assert "unknown service nova; known: identity, image," in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was started or written


def test_malformed_config_file_is_exit_2(tmp_path: Path) -> None:
    config = tmp_path / "onestack.toml"
    config.write_text("[server\n")
    assert onestack("status", "--config", str(config)).returncode == 2


def test_admin_bootstrap_then_db_upgrade(tmp_path: Path) -> None:
    data = tmp_path / "data"
    db_url = create_test_database()  # "" on SQLite: the database file in the data dir
    try:
        _bootstrap_then_db_upgrade(data, ["--db-url", db_url] if db_url else [])
    finally:
        drop_test_database(db_url)


def _bootstrap_then_db_upgrade(data: Path, db_args: list[str]) -> None:
    first = onestack("admin", "bootstrap", "--data-dir", str(data), *db_args, "--admin-password", "Adm1n-pass")
    assert first.returncode == 0, first.stderr
    assert "admin password: Adm1n-pass" in first.stdout
    secrets = json.loads((data / "secrets.json").read_text())
    assert secrets["admin"] == "Adm1n-pass"
    for name in ("secrets.json", "clouds.yaml", "openrc"):
        assert stat.S_IMODE((data / name).stat().st_mode) == 0o600
    assert sorted(os.listdir(data / "fernet-keys")) == ["0", "1"]

    again = onestack("admin", "bootstrap", "--data-dir", str(data), *db_args)
    assert again.returncode == 0 and "already bootstrapped" in again.stdout
    assert json.loads((data / "secrets.json").read_text()) == secrets

    upgrade = onestack("admin", "db-upgrade", "--data-dir", str(data), *db_args)
    assert upgrade.returncode == 0 and "up to date" in upgrade.stdout


def test_rotate_keys_reports_the_new_primary(tmp_path: Path) -> None:
    data = tmp_path / "data"
    result = onestack("admin", "rotate-keys", "--data-dir", str(data))
    assert result.returncode == 0, result.stderr
    assert "fernet-keys: primary key is now 2" in result.stdout
    assert "credential-keys: primary key is now 2" in result.stdout
    assert sorted(os.listdir(data / "credential-keys")) == ["0", "1", "2"]


def test_status_without_a_server_is_exit_1(tmp_path: Path) -> None:
    result = onestack("status", "--port", str(free_port()), "--data-dir", str(tmp_path))
    assert result.returncode == 1
    assert "not answering" in result.stdout
