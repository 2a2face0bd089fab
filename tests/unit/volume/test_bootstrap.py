"""volume/bootstrap.py: __DEFAULT__ and one type per backend, made once; the default type's
resolution order (service/default_type.py)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import Config
from onestack.core.db import Database
from onestack.volume import bootstrap, models
from onestack.volume.service import default_type
from tests.unit.volume.dbhelpers import TYPE_ID, db  # noqa: F401 - the fixture


def _types(s: Session) -> dict[str, dict[str, str]]:
    found = {}
    for vtype in s.scalars(select(models.VolumeType).order_by(models.VolumeType.name)):
        specs = s.scalars(select(models.VolumeTypeExtraSpec)
                          .where(models.VolumeTypeExtraSpec.volume_type_id == vtype.id)
                          .order_by(models.VolumeTypeExtraSpec.key))
        found[vtype.name] = {sp.key: sp.value for sp in specs}
    return found


def test_default_and_backend_types_made_once(db: Database) -> None:  # noqa: F811
    config = Config()
    config.volume.backends = "fast:thin, slow:thick,fast"
    assert bootstrap.backend_names(config) == ["fast", "slow"]
    made = db.run_sync(lambda s: bootstrap.make_default_types(s, config))
    assert made == ["__DEFAULT__", "fast", "slow", "multiattach"]
    assert db.run_sync(lambda s: bootstrap.make_default_types(s, config)) == []
    types = db.run_sync(_types, write=False)
    assert types["__DEFAULT__"] == {} and types["fast"] == {"volume_backend_name": "fast"}
    assert types["slow"] == {"volume_backend_name": "slow"}
    assert types["multiattach"] == {"multiattach": "<is> True"}
    default = db.run_sync(lambda s: s.scalar(select(models.VolumeType).where(models.VolumeType.name == "__DEFAULT__")),
                          write=False)
    assert default is not None and default.description == "Default Volume Type" and default.is_public


def test_default_type_resolution_order(db: Database) -> None:  # noqa: F811
    config = Config()
    db.run_sync(lambda s: bootstrap.make_default_types(s, config))

    def name(project: str, configured: str) -> str:
        return db.run_sync(lambda s: default_type.resolve(s, project, configured).name, write=False)

    assert name("p1", "") == "__DEFAULT__"
    assert name("p1", "t") == "t"  # the configured one
    assert name("p1", "gone") == "__DEFAULT__"  # a configured name that does not exist falls back
    db.run_sync(lambda s: s.add(models.DefaultVolumeType(project_id="p1", volume_type_id=TYPE_ID)))
    file_type = db.run_sync(lambda s: s.scalar(select(models.VolumeType.id).where(models.VolumeType.name == "file-1")),
                            write=False)
    assert file_type is not None
    assert name("p1", "file-1") == "t"  # the project's own beats the configured one
    assert name("p2", "file-1") == "file-1"


def test_no_multiattach_type_when_unset(db: Database) -> None:  # noqa: F811
    config = Config()
    config.volume.multiattach_volume_type = ""
    assert db.run_sync(lambda s: bootstrap.make_default_types(s, config)) == ["__DEFAULT__", "file-1"]
