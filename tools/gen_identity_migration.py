"""Regenerate the initial identity migration from the models (only while nothing has been released)."""

from __future__ import annotations

import tempfile
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine

from onestack.identity.models import Base

HERE = Path(__file__).resolve().parents[1] / "onestack" / "identity" / "migrations"

with tempfile.TemporaryDirectory() as tmp:
    engine = create_engine(f"sqlite:///{tmp}/gen.db")
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["version_table"] = "alembic_version_identity"
    cfg.attributes["target_metadata"] = Base.metadata
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.revision(cfg, message="initial identity schema", autogenerate=True, rev_id="0001")
