"""Volume and group types take an update the same way (Cinder's for both): a rename unless the
name is taken, the description, the visibility only when given."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.orm import Session

from onestack.core.db import Database
from onestack.volume import models
from onestack.volume.errors import GroupTypeExists, VolumeTypeExists
from onestack.volume.service import groups, types
from onestack.volume.service.common import Caller, now
from tests.unit.volume.dbhelpers import db

__all__ = ["db"]

ADMIN = Caller(project_id="p1", user_id="u1", is_admin=True)


@pytest.mark.parametrize("kind", ["volume", "group"])
def test_rename_describe_and_hide(db: Database, kind: str) -> None:
    model: Any = models.VolumeType if kind == "volume" else models.GroupType
    exists: type[Exception] = VolumeTypeExists if kind == "volume" else GroupTypeExists
    update: Any = types.update_type if kind == "volume" else groups.update_group_type

    def setup(s: Session) -> None:
        for type_id, name in (("a", "gold"), ("b", "silver")):
            s.add(model(id=type_id, name=name, description="old", is_public=True, created_at=now()))

    db.run_sync(setup)
    with pytest.raises(exists, match="silver already exists"):
        db.run_sync(lambda s: update(s, "a", ADMIN, {"name": "silver"}))
    db.run_sync(lambda s: update(s, "a", ADMIN, {"name": "gold"}))  # its own name: no conflict
    db.run_sync(lambda s: update(s, "a", ADMIN, {"name": "platinum", "description": None, "is_public": None}))
    row = db.run_sync(lambda s: s.get(model, "a"))
    assert (row.name, row.description, row.is_public) == ("platinum", None, True)  # is_public None: kept
    assert row.updated_at is not None
    db.run_sync(lambda s: update(s, "a", ADMIN, {"is_public": False}))
    row = db.run_sync(lambda s: s.get(model, "a"))
    assert (row.name, row.description, row.is_public) == ("platinum", None, False)
