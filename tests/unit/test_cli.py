"""The `onestack` command starts cheap: its parser is built without importing the services."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from onestack import cli
from onestack.server import SERVICES

REPO = Path(__file__).resolve().parents[2]


def test_service_names_are_the_registry_in_order() -> None:
    # `serve`'s help lists cli.SERVICE_NAMES; a service added to server.SERVICES must appear there.
    assert list(cli.SERVICE_NAMES) == [d.name for d in SERVICES]


def test_serve_help_lists_every_service(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli.main(["serve", "--help"])
    assert exit_.value.code == 0
    text = "".join(capsys.readouterr().out.split())  # argparse wraps the list, at hyphens too
    assert "servicestorunhere:" + ",".join(d.name for d in SERVICES) in text


def test_building_the_parser_imports_no_service() -> None:
    # A fresh interpreter: this one has imported every service already (above).
    probe = ("import sys; from onestack import cli; cli._parser(); "
             "print(sorted(m for m in sys.modules if m == 'onestack.server' or m.endswith('.app')"
             " or m.split('.')[0] in ('sqlalchemy', 'starlette', 'uvicorn')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_ring_command_imports_no_service() -> None:
    # `onestack ring …` needs the database and the ring, not the services server.py imports.
    probe = ("import sys; from onestack.object_store.ring import command, admin; "
             "from onestack.core.db import open_database; "
             "print(sorted(m for m in sys.modules if m == 'onestack.server' or m.endswith('.app')))")
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=REPO,
                            timeout=60, check=True)
    assert result.stdout.strip() == "[]", result.stdout


def test_http_server_keeps_idle_connections_as_configured() -> None:
    from onestack.core.config import Config

    config = Config()
    assert cli._uvicorn_config(object(), config).timeout_keep_alive == 75
    config.server.keep_alive_timeout = 3
    assert cli._uvicorn_config(object(), config).timeout_keep_alive == 3
