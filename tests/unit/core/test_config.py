"""The configuration loader: defaults <- TOML <- environment <- overrides, with type checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from onestack.core.config import Config, ConfigError, describe, load_config


def toml(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "onestack.toml"
    path.write_text(text)
    return path


def test_defaults() -> None:
    cfg = load_config(environ={})
    assert cfg.server.host == "127.0.0.1"
    assert cfg.server.port == 5000
    assert cfg.identity.token_expiration == 3600
    assert cfg.identity.max_active_keys == 3
    assert cfg.identity.security_compliance.lockout_failure_attempts == 0
    assert cfg.base_url == "http://127.0.0.1:5000"
    assert cfg.database_url == f"sqlite:///{cfg.data_dir / 'onestack.db'}"


def test_default_data_dir_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert Config().data_dir == tmp_path / "onestack"


def test_toml_file(tmp_path: Path) -> None:
    path = toml(tmp_path, """
[server]
port = 6001
public-url = "https://cloud.example.org/"

[identity]
token_expiration = 600
cache_ttl = 5

[identity.security_compliance]
lockout_failure_attempts = 5
change_password_upon_first_use = true
password_regex = "^.{8,}$"
""")
    cfg = load_config(path, environ={})
    assert cfg.server.port == 6001
    assert cfg.base_url == "https://cloud.example.org"  # trailing slash dropped
    assert cfg.identity.token_expiration == 600
    assert cfg.identity.cache_ttl == 5.0 and isinstance(cfg.identity.cache_ttl, float)
    sc = cfg.identity.security_compliance
    assert (sc.lockout_failure_attempts, sc.change_password_upon_first_use, sc.password_regex) == (5, True, "^.{8,}$")
    assert sc.lockout_duration == 1800  # untouched keys keep their defaults


def test_environment_beats_file(tmp_path: Path) -> None:
    path = toml(tmp_path, "[server]\nport = 6001\nhost = '127.0.0.2'\n")
    env = {
        "ONESTACK_SERVER__PORT": "7002",
        "ONESTACK_IDENTITY__SECURITY_COMPLIANCE__LOCKOUT_DURATION": "30",
        "ONESTACK_LOG__JSON": "yes",
        "ONESTACK_LOG__REQUESTS": "off",
        "ONESTACK_DATABASE__SQLITE_BUSY_TIMEOUT": "2.5",
        "UNRELATED": "ignored",
        "ONESTACK_SINGLE": "one level is not a key path",
    }
    cfg = load_config(path, environ=env)
    assert cfg.server.port == 7002
    assert cfg.server.host == "127.0.0.2"
    assert cfg.identity.security_compliance.lockout_duration == 30
    assert cfg.log.json is True and cfg.log.requests is False
    assert cfg.database.sqlite_busy_timeout == 2.5


def test_overrides_beat_environment(tmp_path: Path) -> None:
    env = {"ONESTACK_SERVER__PORT": "7002", "ONESTACK_SERVER__DATA_DIR": "/from/env"}
    cfg = load_config(None, environ=env, overrides={
        "server.port": 8003, "server.data_dir": None, "identity.security_compliance.minimum_password_age": 2,
    })
    assert cfg.server.port == 8003
    assert cfg.server.data_dir == "/from/env"  # None means "flag not given"
    assert cfg.identity.security_compliance.minimum_password_age == 2


def test_process_environment_is_the_default_source(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTACK_BOOTSTRAP__REGION", "RegionTwo")
    assert load_config().bootstrap.region == "RegionTwo"


@pytest.mark.parametrize("text", [
    "[server]\nnope = 1\n",
    "[nosuchsection]\nport = 1\n",
    "[identity.security_compliance]\nlockout = 1\n",
])
def test_unknown_key_in_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError, match="unknown configuration key"):
        load_config(toml(tmp_path, text), environ={})


def test_unknown_key_in_environment() -> None:
    with pytest.raises(ConfigError, match="unknown configuration key server.colour"):
        load_config(environ={"ONESTACK_SERVER__COLOUR": "blue"})


def test_unknown_override() -> None:
    with pytest.raises(ConfigError):
        load_config(environ={}, overrides={"server.colour": "blue"})


@pytest.mark.parametrize(("env", "fragment"), [
    ({"ONESTACK_SERVER__PORT": "five"}, "server.port: expected an integer"),
    ({"ONESTACK_LOG__JSON": "maybe"}, "log.json: expected a boolean"),
    ({"ONESTACK_IDENTITY__CACHE_TTL": "soon"}, "identity.cache_ttl: expected a number"),
    ({"ONESTACK_IDENTITY__SECURITY_COMPLIANCE__LOCKOUT_DURATION": "1h"},
     "identity.security_compliance.lockout_duration: expected an integer"),
])
def test_type_errors_from_environment(env: dict[str, str], fragment: str) -> None:
    with pytest.raises(ConfigError, match=fragment):
        load_config(environ=env)


@pytest.mark.parametrize("text", [
    "[server]\nport = true\n",  # a boolean is not an integer
    "[server]\nport = 1.5\n",
    "[server]\nhost = [1, 2]\n",
    "[log]\njson = 3\n",
    "server = 5\n",  # a section must be a table
    "[identity]\nsecurity_compliance = 'strict'\n",
])
def test_type_errors_from_file(tmp_path: Path, text: str) -> None:
    with pytest.raises(ConfigError):
        load_config(toml(tmp_path, text), environ={})


def test_malformed_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="onestack.toml"):
        load_config(toml(tmp_path, "[server\nport = 1\n"), environ={})


def test_environment_section_and_key_clash_is_a_config_error() -> None:
    env = {"ONESTACK_IDENTITY__SECURITY_COMPLIANCE": "x",
           "ONESTACK_IDENTITY__SECURITY_COMPLIANCE__LOCKOUT_DURATION": "5"}
    with pytest.raises(ConfigError):
        load_config(environ=env)


def test_describe_lists_every_leaf_with_type_and_default() -> None:
    rows = {name: (typ, default) for name, typ, default in describe()}
    assert rows["server.port"] == ("int", 5000)
    assert rows["log.json"] == ("bool", False)
    assert rows["identity.cache_ttl"] == ("float", 300.0)
    assert rows["identity.security_compliance.password_regex"] == ("str", "")
    assert "identity.security_compliance" not in rows  # tables are not leaves
    assert len(rows) == len(describe())  # no duplicates


def test_describe_reports_a_given_config() -> None:
    cfg = load_config(environ={"ONESTACK_SERVER__PORT": "1234"})
    assert {n: d for n, _, d in describe(cfg)}["server.port"] == 1234


@pytest.mark.parametrize(("hosts", "setting", "allowed"), [
    ("1", None, True), ("3", None, False), ("1", "auto", True), ("2", "AUTO", False), ("2", "", False),
    ("3", "true", True), ("1", "false", False), ("1", "0", False), ("4", "yes", True),
])
def test_allow_resize_to_same_host(hosts: str, setting: str | None, allowed: bool) -> None:
    """Unset or "auto": allowed exactly when the cloud runs one compute host (DevStack's choice there)."""
    env = {"ONESTACK_COMPUTE__HOSTS": hosts}
    if setting is not None:
        env["ONESTACK_COMPUTE__ALLOW_RESIZE_TO_SAME_HOST"] = setting
    assert load_config(environ=env).compute.resize_to_same_host() is allowed


def test_allow_resize_to_same_host_in_toml(tmp_path: Path) -> None:
    path = toml(tmp_path, '[compute]\nallow_resize_to_same_host = "auto"\nhosts = 2\n')
    assert load_config(path, environ={}).compute.resize_to_same_host() is False
    path = toml(tmp_path, "[compute]\nallow_resize_to_same_host = true\nhosts = 2\n")
    assert load_config(path, environ={}).compute.resize_to_same_host() is True
    with pytest.raises(ConfigError, match="allow_resize_to_same_host: expected a boolean"):
        load_config(environ={"ONESTACK_COMPUTE__ALLOW_RESIZE_TO_SAME_HOST": "sometimes"})
