"""Flavors, their extra specs and who may use the private ones."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeAlias

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from onestack.compute.models import Flavor, FlavorExtraSpec, FlavorProject
from onestack.core.api.faults import BadRequest, Conflict, NotFound
from onestack.core.ids import utcnow

SORT_KEYS = {
    "created_at": Flavor.created_at, "description": Flavor.description, "disabled": Flavor.disabled,
    "ephemeral_gb": Flavor.ephemeral_gb, "flavorid": Flavor.flavorid, "id": Flavor.id,
    "is_public": Flavor.is_public, "memory_mb": Flavor.memory_mb, "name": Flavor.name,
    "root_gb": Flavor.root_gb, "rxtx_factor": Flavor.rxtx_factor, "swap": Flavor.swap,
    "updated_at": Flavor.updated_at, "vcpus": Flavor.vcpus,
}

# What the API renders (detached rows, loaded in full: expire_on_commit is off).
FlavorRow: TypeAlias = Flavor


@dataclass(frozen=True)
class Viewer:
    """Whose eyes a flavor query sees through: admins see every flavor."""

    project_id: str | None
    is_admin: bool


@dataclass(frozen=True)
class ListQuery:
    is_public: bool | None = True  # None: public and private alike
    min_ram: int | None = None
    min_disk: int | None = None
    sort_key: str = "flavorid"
    sort_dir: str = "asc"
    limit: int | None = None
    marker: str | None = None
    name: str | None = None  # 2.102: a regular expression the name must match (Nova's REGEXP)


def _name_matches(pattern: str) -> Callable[[Flavor], bool]:
    try:
        compiled = re.compile(pattern)
    except re.error:  # a pattern the database cannot read matches nothing
        return lambda flavor: False
    return lambda flavor: compiled.search(flavor.name) is not None


def _visible(viewer: Viewer) -> Any:
    return or_(Flavor.is_public.is_(True),
               Flavor.projects.any(FlavorProject.project_id == (viewer.project_id or "")))


_BY_FLAVORID = select(Flavor).where(Flavor.flavorid == bindparam("flavorid"))  # built once: every boot asks


def get_flavor(s: Session, flavorid: str, viewer: Viewer) -> Flavor:
    flavor = s.scalar(_BY_FLAVORID, {"flavorid": flavorid})
    if flavor is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    # The access list is loaded with the flavor, so _visible's rule is checked in Python.
    _check_visible(flavorid, viewer, flavor.is_public,
                   lambda: any(p.project_id == (viewer.project_id or "") for p in flavor.projects))
    return flavor


def _check_visible(flavorid: str, viewer: Viewer, is_public: bool, granted: Callable[[], bool]) -> None:
    """_visible's rule for one flavor; ``granted`` (is the viewer on its access list) runs only if needed."""
    if not (viewer.is_admin or is_public or granted()):
        raise NotFound(f"Flavor {flavorid} could not be found.")


@dataclass(frozen=True)
class BootFlavor:
    """The columns a boot reads from a flavor, loaded without the ORM (every POST /servers asks)."""

    flavorid: str
    name: str
    vcpus: int
    memory_mb: int
    root_gb: int
    ephemeral_gb: int
    swap: int
    rxtx_factor: float
    description: str | None
    disabled: bool
    extra_specs: dict[str, str]


_FLAVORS = Flavor.__table__
_BOOT_ROW = select(*(_FLAVORS.c[name] for name in ("id", "is_public", *BootFlavor.__dataclass_fields__)
                     if name != "extra_specs")).where(_FLAVORS.c.flavorid == bindparam("flavorid"))
_SPECS = select(FlavorExtraSpec.key, FlavorExtraSpec.value).where(FlavorExtraSpec.flavor_id == bindparam("id"))
_GRANTED = select(FlavorProject.project_id).where(FlavorProject.flavor_id == bindparam("id"),
                                                  FlavorProject.project_id == bindparam("project_id"))


def boot_flavor(s: Session, flavorid: str, viewer: Viewer) -> BootFlavor:
    """``get_flavor`` for the boot path: the same visibility rule, a plain value back."""
    row = s.execute(_BOOT_ROW, {"flavorid": flavorid}).first()
    if row is None:
        raise NotFound(f"Flavor {flavorid} could not be found.")
    _check_visible(flavorid, viewer, row.is_public, lambda: s.scalar(
        _GRANTED, {"id": row.id, "project_id": viewer.project_id or ""}) is not None)
    values = row._asdict()
    del values["id"], values["is_public"]
    return BootFlavor(**values, extra_specs=dict(s.execute(_SPECS, {"id": row.id}).all()))


def list_flavors(s: Session, viewer: Viewer, q: ListQuery) -> list[Flavor]:
    query = select(Flavor)
    if not viewer.is_admin:
        query = query.where(_visible(viewer), Flavor.disabled.is_(False))
    elif q.is_public is True:
        query = query.where(_visible(viewer))
    elif q.is_public is False:
        query = query.where(Flavor.is_public.is_(False))
    if q.min_ram is not None:
        query = query.where(Flavor.memory_mb >= q.min_ram)
    if q.min_disk is not None:
        query = query.where(Flavor.root_gb >= q.min_disk)
    column = SORT_KEYS[q.sort_key]
    order = column.desc() if q.sort_dir == "desc" else column.asc()
    tiebreak = Flavor.id.desc() if q.sort_dir == "desc" else Flavor.id.asc()
    flavors = list(s.scalars(query.order_by(order, tiebreak)))
    if q.marker is not None:
        ids = [f.flavorid for f in flavors]
        if q.marker not in ids:
            raise BadRequest(f"marker [{q.marker}] not found")
        flavors = flavors[ids.index(q.marker) + 1:]
    if q.name is not None:
        matches = _name_matches(q.name)
        flavors = [f for f in flavors if matches(f)]
    return flavors if q.limit is None else flavors[:q.limit]


def create_flavor(s: Session, values: dict[str, Any], extra_specs: dict[str, str] | None = None) -> Flavor:
    """``values`` holds the model's column names; a missing id becomes a uuid."""
    flavorid = values.get("flavorid") or str(uuid.uuid4())
    if s.scalar(select(Flavor.id).where(Flavor.flavorid == flavorid)) is not None:
        raise Conflict(f"Flavor with ID {flavorid} already exists.")
    if s.scalar(select(Flavor.id).where(Flavor.name == values["name"])) is not None:
        raise Conflict(f"Flavor with name {values['name']} already exists.")
    flavor = Flavor(**{**values, "flavorid": flavorid})
    flavor.extra_specs = [FlavorExtraSpec(key=k, value=v) for k, v in (extra_specs or {}).items()]
    flavor.projects = []
    s.add(flavor)
    s.flush()
    return flavor


def update_description(s: Session, flavorid: str, description: str | None) -> Flavor:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    flavor.description = description
    flavor.updated_at = utcnow()
    s.flush()
    return flavor


def delete_flavor(s: Session, flavorid: str) -> None:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    s.delete(flavor)


def specs_of(flavor: Flavor) -> dict[str, str]:
    return {spec.key: spec.value for spec in flavor.extra_specs}


def set_specs(s: Session, flavorid: str, specs: dict[str, str]) -> dict[str, str]:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    current = {spec.key: spec for spec in flavor.extra_specs}
    for key, value in specs.items():
        if key in current:
            current[key].value = value
        else:
            flavor.extra_specs.append(FlavorExtraSpec(key=key, value=value))
    flavor.updated_at = utcnow()
    s.flush()
    return specs


def get_spec(s: Session, flavorid: str, key: str, viewer: Viewer) -> str:
    specs = specs_of(get_flavor(s, flavorid, viewer))
    if key not in specs:
        raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")
    return specs[key]


def delete_spec(s: Session, flavorid: str, key: str) -> None:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    for spec in flavor.extra_specs:
        if spec.key == key:
            flavor.extra_specs.remove(spec)
            return
    raise NotFound(f"Flavor {flavorid} has no extra specs with key {key}.")


def access_list(s: Session, flavorid: str) -> list[dict[str, str]]:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    if flavor.is_public:
        raise NotFound("Access list not available for public flavors.")
    return [{"flavor_id": flavor.flavorid, "tenant_id": p.project_id}
            for p in sorted(flavor.projects, key=lambda p: p.project_id)]


def add_access(s: Session, flavorid: str, project_id: str) -> list[dict[str, str]]:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    if flavor.is_public:
        raise Conflict("Can not add access to a public flavor.")
    if any(p.project_id == project_id for p in flavor.projects):
        raise Conflict(f"Flavor access already exists for flavor {flavorid} and project {project_id} combination.")
    flavor.projects.append(FlavorProject(project_id=project_id))
    s.flush()
    return access_list(s, flavorid)


def remove_access(s: Session, flavorid: str, project_id: str) -> list[dict[str, str]]:
    flavor = get_flavor(s, flavorid, Viewer(None, True))
    for p in flavor.projects:
        if p.project_id == project_id:
            flavor.projects.remove(p)
            s.flush()
            return access_list(s, flavorid) if not flavor.is_public else []
    raise NotFound(f"Flavor access not found for {flavorid} / {project_id} combination.")
