"""``serve --api-workers N`` / ``server.api_workers``: what is accepted, what is refused, who runs what.

The processes themselves (fork, one port, SIGTERM, a dying worker) are tested on PostgreSQL and
RabbitMQ in tests/functional/test_api_workers.py."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from onestack import cli, server, workers
from onestack.core.config import load_config

PG = "postgresql://postgres@127.0.0.1:5432/x"
RABBIT = "rabbit://guest:guest@127.0.0.1:5672/v"


def definitions(*names: str) -> list[object]:
    return list(server.enabled_services(load_config(None), list(names)))


def test_the_flag_and_the_environment_set_server_api_workers(monkeypatch: pytest.MonkeyPatch) -> None:
    args = cli._parser().parse_args(["serve", "identity", "--api-workers", "3"])
    assert cli._config(args).server.api_workers == 3
    args = cli._parser().parse_args(["serve", "identity"])
    assert cli._config(args).server.api_workers == 1  # the default: one process
    monkeypatch.setenv("ONESTACK_SERVER__API_WORKERS", "2")
    assert cli._config(args).server.api_workers == 2


def test_one_worker_is_always_accepted_and_fewer_is_refused() -> None:
    assert workers.usage_error("sqlite:///x.db", "memory://", definitions("identity"), 1) is None
    assert "at least 1" in str(workers.usage_error(PG, RABBIT, definitions("identity"), 0))


def test_several_workers_need_a_server_database() -> None:
    refused = workers.usage_error("sqlite:////tmp/x/onestack.db", RABBIT, definitions("identity", "network"), 2)
    assert refused is not None and "needs a server database" in refused
    assert workers.usage_error(PG, "memory://", definitions("identity", "network"), 2) is None
    assert workers.usage_error("mysql://root@127.0.0.1/x", RABBIT, definitions("identity", "network"), 4) is None


def test_several_workers_need_an_api_and_the_bus_for_what_runs_in_worker_0_only() -> None:
    refused = workers.usage_error(PG, RABBIT, definitions("conductor", "scheduler"), 2)
    assert refused is not None and "serves an API" in refused
    refused = workers.usage_error(PG, "memory://", definitions("network", "network-agents"), 2)
    assert refused is not None and "network-agents" in refused and "--transport-url" in refused
    assert workers.usage_error(PG, RABBIT, definitions("network", "network-agents"), 2) is None


def test_every_worker_runs_the_apis_and_worker_0_the_rest() -> None:
    chosen = definitions("identity", "network", "conductor", "network-agents")
    assert workers.services_of(chosen, 0) == ["identity", "network", "conductor", "network-agents"]
    assert workers.services_of(chosen, 1) == ["identity", "network"]
    assert workers.services_of(chosen, 5) == ["identity", "network"]


def test_serve_refuses_before_making_anything(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data = tmp_path / "data"
    assert cli.main(["serve", "identity", "network", "--api-workers", "2", "--data-dir", str(data)]) == 2
    assert "--api-workers 2 needs a server database" in capsys.readouterr().err
    assert cli.main(["serve", "identity", "--api-workers", "0", "--data-dir", str(data)]) == 2
    assert "must be at least 1" in capsys.readouterr().err
    assert not data.exists()


def test_up_stays_one_process(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ONESTACK_SERVER__API_WORKERS", "2")
    data = tmp_path / "data"
    assert cli.main(["up", "--data-dir", str(data)]) == 2
    assert "`up` runs one process" in capsys.readouterr().err
    assert not data.exists()


def test_workers_are_not_forked_beside_a_running_thread() -> None:
    stop = threading.Event()
    other = threading.Thread(target=stop.wait, name="busy-elsewhere")
    other.start()
    try:
        with pytest.raises(RuntimeError, match="busy-elsewhere"):
            workers.run([], lambda index, sock: 0)
    finally:
        stop.set()
        other.join()
