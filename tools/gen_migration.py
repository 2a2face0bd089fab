"""Regenerate a service's initial migration from its models (only while nothing has been released).

    python tools/gen_migration.py identity|image
"""

from __future__ import annotations

import importlib
import sys
import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

service = sys.argv[1]
models = importlib.import_module(f"onestack.{service}.models")
here = Path(__file__).resolve().parents[1] / "onestack" / service / "migrations"
for old in (here / "versions").glob("0001_*.py"):
    old.unlink()

with tempfile.TemporaryDirectory() as tmp:
    engine = create_engine(f"sqlite:///{tmp}/gen.db")
    cfg = Config()
    cfg.set_main_option("script_location", str(here))
    cfg.attributes["version_table"] = f"alembic_version_{service}"
    cfg.attributes["target_metadata"] = models.Base.metadata
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message=f"initial {service} schema", autogenerate=True, rev_id="0001")
