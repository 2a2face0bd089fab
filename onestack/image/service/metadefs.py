"""Metadata definitions: namespaces and their objects, properties, tags and resource types.

Plain functions taking a Session. Visibility follows Glance: a caller sees public
namespaces and those its project owns; admins see everything. A namespace the caller
cannot see does not exist for it (404).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.api.pagination import Page
from onestack.core.ids import isotime, utcnow
from onestack.image.models import (
    MetadefEntry,
    MetadefNamespace,
    MetadefNamespaceResourceType,
    MetadefResourceType,
)
from onestack.image.service.images import Viewer

# Resource types a Glance deployment knows after loading its bundled definitions.
DEFAULT_RESOURCE_TYPES = (
    "OS::Glance::Image",
    "OS::Cinder::Volume",
    "OS::Nova::Flavor",
    "OS::Nova::Aggregate",
    "OS::Nova::Server",
    "OS::Trove::Instance",
)
NAMESPACE_SORT_KEYS = ("created_at", "updated_at", "namespace", "display_name")
ENTRY_SORT_KEYS = ("created_at", "updated_at", "name")
KINDS = ("object", "property", "tag")


def _ts(dt: datetime | None) -> str | None:
    return isotime(dt, micro=False)


def _ns_path(name: str) -> str:
    return f"/v2/metadefs/namespaces/{name}"


# --- resource types -------------------------------------------------------------------------

def seed_resource_types(s: Session) -> None:
    """Insert the well-known resource types that are missing (idempotent)."""
    have = set(s.scalars(select(MetadefResourceType.name)))
    now = utcnow()
    for name in DEFAULT_RESOURCE_TYPES:
        if name not in have:
            s.add(MetadefResourceType(name=name, protected=True, created_at=now, updated_at=now))


def list_resource_types(s: Session) -> list[dict[str, Any]]:
    rows = s.scalars(select(MetadefResourceType).order_by(MetadefResourceType.created_at, MetadefResourceType.name))
    return [{"name": r.name, "created_at": _ts(r.created_at), "updated_at": _ts(r.updated_at)} for r in rows]


def _association_dict(a: MetadefNamespaceResourceType) -> dict[str, Any]:
    out: dict[str, Any] = {"name": a.resource_type}
    if a.prefix is not None:
        out["prefix"] = a.prefix
    if a.properties_target is not None:
        out["properties_target"] = a.properties_target
    out["created_at"] = _ts(a.created_at)
    out["updated_at"] = _ts(a.updated_at)
    return out


def _associations(s: Session, namespace: str) -> list[MetadefNamespaceResourceType]:
    q = (select(MetadefNamespaceResourceType).where(MetadefNamespaceResourceType.namespace == namespace)
         .order_by(MetadefNamespaceResourceType.created_at, MetadefNamespaceResourceType.resource_type))
    return list(s.scalars(q))


def list_associations(s: Session, caller: Viewer, namespace: str) -> list[dict[str, Any]]:
    visible_namespace(s, caller, namespace)
    return [_association_dict(a) for a in _associations(s, namespace)]


def _add_association(s: Session, namespace: str, body: dict[str, Any]) -> MetadefNamespaceResourceType:
    name = body["name"]
    key = (namespace, name)
    if s.get(MetadefNamespaceResourceType, key) is not None:
        raise Conflict(f"Resource type {name} is already associated with namespace {namespace}.")
    now = utcnow()
    if s.get(MetadefResourceType, name) is None:
        # Glance creates an unknown resource type on first association.
        s.add(MetadefResourceType(name=name, protected=False, created_at=now, updated_at=now))
    row = MetadefNamespaceResourceType(namespace=namespace, resource_type=name, prefix=body.get("prefix"),
                                       properties_target=body.get("properties_target"),
                                       created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    return row


def add_association(s: Session, caller: Viewer, namespace: str, body: dict[str, Any]) -> dict[str, Any]:
    visible_namespace(s, caller, namespace)
    row = _add_association(s, namespace, body)
    _touch(s, namespace)
    return _association_dict(row)


def remove_association(s: Session, caller: Viewer, namespace: str, resource_type: str) -> None:
    ns = visible_namespace(s, caller, namespace)
    row = s.get(MetadefNamespaceResourceType, (namespace, resource_type))
    if row is None:
        raise NotFound(f"Resource type {resource_type} is not associated with namespace {namespace}.")
    _refuse_if_protected(ns, f"resource type association {resource_type}")
    s.delete(row)


# --- namespaces -----------------------------------------------------------------------------

def _can_see(ns: MetadefNamespace, caller: Viewer) -> bool:
    return caller.is_admin or ns.visibility == "public" or (caller.project_id is not None
                                                            and ns.owner == caller.project_id)


def visible_namespace(s: Session, caller: Viewer, name: str) -> MetadefNamespace:
    ns = s.get(MetadefNamespace, name)
    if ns is None or not _can_see(ns, caller):
        raise NotFound(f"Metadata definition namespace={name} was not found.")
    return ns


def check_namespace_visible(s: Session, caller: Viewer, name: str) -> None:
    visible_namespace(s, caller, name)


def _refuse_if_protected(ns: MetadefNamespace, what: str) -> None:
    if ns.protected:
        raise Forbidden(f"Namespace {ns.namespace} is protected; {what} cannot be deleted.")


def _touch(s: Session, namespace: str) -> None:
    ns = s.get(MetadefNamespace, namespace)
    if ns is not None:
        ns.updated_at = utcnow()


def _namespace_core(ns: MetadefNamespace) -> dict[str, Any]:
    out: dict[str, Any] = {"namespace": ns.namespace}
    if ns.display_name is not None:
        out["display_name"] = ns.display_name
    if ns.description is not None:
        out["description"] = ns.description
    out.update({
        "visibility": ns.visibility,
        "protected": ns.protected,
        "owner": ns.owner,
        "created_at": _ts(ns.created_at),
        "updated_at": _ts(ns.updated_at),
        "self": _ns_path(ns.namespace),
        "schema": "/v2/schemas/metadefs/namespace",
    })
    return out


def render_namespace(s: Session, ns: MetadefNamespace, *, full: bool, resource_type: str | None = None) -> dict[str, Any]:
    """A namespace as Glance shows it; ``full`` adds its properties, objects and tags."""
    out = _namespace_core(ns)
    assocs = _associations(s, ns.namespace)
    if assocs:
        out["resource_type_associations"] = [_association_dict(a) for a in assocs]
    if not full:
        return out
    prefix = ""
    if resource_type:
        match = [a for a in assocs if a.resource_type == resource_type]
        prefix = (match[0].prefix or "") if match else ""
    props = _entries(s, ns.namespace, "property")
    if props:
        out["properties"] = {prefix + e.name: _property_body(e) for e in props}
    objects = _entries(s, ns.namespace, "object")
    if objects:
        out["objects"] = [_object_dict(ns.namespace, e, links=False) for e in objects]
    tags = _entries(s, ns.namespace, "tag")
    if tags:
        out["tags"] = [{"name": e.name} for e in tags]
    return out


def get_namespace(s: Session, caller: Viewer, name: str, resource_type: str | None = None) -> dict[str, Any]:
    return render_namespace(s, visible_namespace(s, caller, name), full=True, resource_type=resource_type)


def _sorted_page(rows: Sequence[Any], page: Page, key_of: Callable[[Any], str]) -> list[Any]:
    """Sort by page.sort_key (ties broken by name), then apply marker and limit."""
    sort_key = page.sort_key or "created_at"

    def sort_value(row: Any) -> tuple[Any, ...]:
        value = getattr(row, sort_key)
        return (value is not None, value if value is not None else "", key_of(row))

    ordered = sorted(rows, key=sort_value, reverse=page.sort_dir == "desc")
    if page.marker is not None:
        names = [key_of(r) for r in ordered]
        if page.marker not in names:
            raise BadRequest(f"Marker {page.marker} was not found.")
        ordered = ordered[names.index(page.marker) + 1:]
    return ordered if page.limit is None else ordered[: page.limit]


def list_namespaces(s: Session, caller: Viewer, page: Page, visibility: str | None = None,
                    resource_types: Sequence[str] = ()) -> list[dict[str, Any]]:
    rows = [ns for ns in s.scalars(select(MetadefNamespace)) if _can_see(ns, caller)]
    if visibility is not None:
        rows = [ns for ns in rows if ns.visibility == visibility]
    if resource_types:
        q = select(MetadefNamespaceResourceType.namespace).where(
            MetadefNamespaceResourceType.resource_type.in_(list(resource_types)))
        wanted = set(s.scalars(q))
        rows = [ns for ns in rows if ns.namespace in wanted]
    return [render_namespace(s, ns, full=False) for ns in _sorted_page(rows, page, lambda r: r.namespace)]


def create_namespace(s: Session, caller: Viewer, body: dict[str, Any]) -> dict[str, Any]:
    name = body["namespace"]
    if s.get(MetadefNamespace, name) is not None:
        raise Conflict(f"A metadata definition namespace named {name} already exists.")
    now = utcnow()
    ns = MetadefNamespace(
        namespace=name, display_name=body.get("display_name"), description=body.get("description"),
        visibility=body.get("visibility") or "private", protected=bool(body.get("protected", False)),
        owner=body.get("owner") or caller.project_id or "", created_at=now, updated_at=now,
    )
    s.add(ns)
    s.flush()
    for assoc in body.get("resource_type_associations", []):
        _add_association(s, name, assoc)
    for prop_name, prop in (body.get("properties") or {}).items():
        _add_entry(s, name, "property", prop_name, _property_stored(prop))
    for obj in body.get("objects", []):
        _add_entry(s, name, "object", obj["name"], _object_stored(obj))
    for tag in body.get("tags", []):
        _add_entry(s, name, "tag", tag["name"], {})
    return render_namespace(s, ns, full=True)


def update_namespace(s: Session, caller: Viewer, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """Glance's PUT: every mutable field is replaced; omitted ones fall back to create's defaults."""
    ns = visible_namespace(s, caller, name)
    new_name = body["namespace"]
    if new_name != name:
        if s.get(MetadefNamespace, new_name) is not None:
            raise Conflict(f"A metadata definition namespace named {new_name} already exists.")
        ns = _rename_namespace(s, ns, new_name)
    ns.display_name = body.get("display_name")
    ns.description = body.get("description")
    ns.visibility = body.get("visibility") or "private"
    ns.protected = bool(body.get("protected", False))
    ns.owner = body.get("owner") or caller.project_id or ns.owner
    ns.updated_at = utcnow()
    s.flush()
    return render_namespace(s, ns, full=True)


def _rename_namespace(s: Session, ns: MetadefNamespace, new_name: str) -> MetadefNamespace:
    """The name is the key children refer to: add the new row, move the children, drop the old."""
    renamed = MetadefNamespace(namespace=new_name, display_name=ns.display_name, description=ns.description,
                               visibility=ns.visibility, protected=ns.protected, owner=ns.owner,
                               created_at=ns.created_at, updated_at=ns.updated_at)
    s.add(renamed)
    s.flush()
    for entry in s.scalars(select(MetadefEntry).where(MetadefEntry.namespace == ns.namespace)):
        entry.namespace = new_name
    for assoc in _associations(s, ns.namespace):
        s.add(MetadefNamespaceResourceType(namespace=new_name, resource_type=assoc.resource_type,
                                           prefix=assoc.prefix, properties_target=assoc.properties_target,
                                           created_at=assoc.created_at, updated_at=assoc.updated_at))
        s.delete(assoc)
    s.flush()
    s.delete(ns)
    s.flush()
    return renamed


def delete_namespace(s: Session, caller: Viewer, name: str) -> None:
    ns = visible_namespace(s, caller, name)
    if ns.protected:
        raise Forbidden(f"Namespace {name} is protected and cannot be deleted.")
    s.execute(delete(MetadefEntry).where(MetadefEntry.namespace == name))
    s.execute(delete(MetadefNamespaceResourceType).where(MetadefNamespaceResourceType.namespace == name))
    s.delete(ns)


# --- objects, properties, tags (one table, told apart by kind) --------------------------------

def _entries(s: Session, namespace: str, kind: str) -> list[MetadefEntry]:
    q = (select(MetadefEntry).where(MetadefEntry.namespace == namespace, MetadefEntry.kind == kind)
         .order_by(MetadefEntry.created_at, MetadefEntry.name))
    return list(s.scalars(q))


def _entry(s: Session, namespace: str, kind: str, name: str) -> MetadefEntry:
    row = s.scalars(select(MetadefEntry).where(MetadefEntry.namespace == namespace, MetadefEntry.kind == kind,
                                               MetadefEntry.name == name)).first()
    if row is None:
        raise NotFound(f"Metadata definition {kind} {name} was not found in namespace {namespace}.")
    return row


def _add_entry(s: Session, namespace: str, kind: str, name: str, body: dict[str, Any]) -> MetadefEntry:
    exists = s.scalars(select(MetadefEntry.id).where(MetadefEntry.namespace == namespace, MetadefEntry.kind == kind,
                                                     MetadefEntry.name == name)).first()
    if exists is not None:
        raise Conflict(f"A metadata definition {kind} named {name} already exists in namespace {namespace}.")
    now = utcnow()
    row = MetadefEntry(namespace=namespace, kind=kind, name=name, body=body, created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    return row


def _rename_entry(s: Session, row: MetadefEntry, new_name: str) -> None:
    if new_name != row.name:
        taken = s.scalars(select(MetadefEntry.id).where(MetadefEntry.namespace == row.namespace,
                                                        MetadefEntry.kind == row.kind,
                                                        MetadefEntry.name == new_name)).first()
        if taken is not None:
            raise Conflict(f"A metadata definition {row.kind} named {new_name} already exists "
                           f"in namespace {row.namespace}.")
        row.name = new_name


def _property_stored(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "name"}


def _property_body(row: MetadefEntry) -> dict[str, Any]:
    return dict(row.body)


def _property_dict(row: MetadefEntry) -> dict[str, Any]:
    return {"name": row.name, **row.body}


def _object_stored(body: dict[str, Any]) -> dict[str, Any]:
    return {k: body[k] for k in ("description", "required", "properties") if k in body}


def _object_dict(namespace: str, row: MetadefEntry, *, links: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {"name": row.name}
    out.update({k: row.body[k] for k in ("description", "required") if k in row.body})
    out["properties"] = row.body.get("properties", {})
    if links:
        out.update({"created_at": _ts(row.created_at), "updated_at": _ts(row.updated_at),
                    "self": f"{_ns_path(namespace)}/objects/{row.name}",
                    "schema": "/v2/schemas/metadefs/object"})
    return out


def _tag_dict(row: MetadefEntry) -> dict[str, Any]:
    return {"name": row.name, "created_at": _ts(row.created_at), "updated_at": _ts(row.updated_at)}


def _render(namespace: str, row: MetadefEntry) -> dict[str, Any]:
    if row.kind == "object":
        return _object_dict(namespace, row)
    if row.kind == "property":
        return _property_dict(row)
    return _tag_dict(row)


def list_entries(s: Session, caller: Viewer, namespace: str, kind: str, page: Page | None = None) -> list[dict[str, Any]]:
    visible_namespace(s, caller, namespace)
    rows: Sequence[MetadefEntry] = _entries(s, namespace, kind)
    if page is not None:
        rows = _sorted_page(rows, page, lambda r: r.name)
    return [_render(namespace, r) for r in rows]


def get_entry(s: Session, caller: Viewer, namespace: str, kind: str, name: str) -> dict[str, Any]:
    visible_namespace(s, caller, namespace)
    return _render(namespace, _entry(s, namespace, kind, name))


def _stored(kind: str, body: dict[str, Any]) -> dict[str, Any]:
    if kind == "object":
        return _object_stored(body)
    if kind == "property":
        return _property_stored(body)
    return {}


def create_entry(s: Session, caller: Viewer, namespace: str, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    visible_namespace(s, caller, namespace)
    row = _add_entry(s, namespace, kind, name, _stored(kind, body))
    _touch(s, namespace)
    return _render(namespace, row)


def update_entry(s: Session, caller: Viewer, namespace: str, kind: str, name: str, body: dict[str, Any]) -> dict[str, Any]:
    """PUT replaces the definition; a different ``name`` in the body renames it."""
    visible_namespace(s, caller, namespace)
    row = _entry(s, namespace, kind, name)
    _rename_entry(s, row, body.get("name", name))
    row.body = _stored(kind, body)
    row.updated_at = utcnow()
    s.flush()
    return _render(namespace, row)


def delete_entry(s: Session, caller: Viewer, namespace: str, kind: str, name: str) -> None:
    ns = visible_namespace(s, caller, namespace)
    row = _entry(s, namespace, kind, name)
    _refuse_if_protected(ns, f"{kind} {name}")
    s.delete(row)
    _touch(s, namespace)


def delete_all_entries(s: Session, caller: Viewer, namespace: str, kind: str) -> None:
    ns = visible_namespace(s, caller, namespace)
    _refuse_if_protected(ns, f"its {kind} definitions")
    s.execute(delete(MetadefEntry).where(MetadefEntry.namespace == namespace, MetadefEntry.kind == kind))
    _touch(s, namespace)


def replace_tags(s: Session, caller: Viewer, namespace: str, names: list[str], append: bool) -> list[dict[str, Any]]:
    """POST .../tags: set the namespace's tags to ``names`` (or add them, with append)."""
    ns = visible_namespace(s, caller, namespace)
    if len(set(names)) != len(names):
        raise Conflict("The request lists the same tag more than once.")
    if not append:
        if _entries(s, namespace, "tag"):
            _refuse_if_protected(ns, "its tags")
        s.execute(delete(MetadefEntry).where(MetadefEntry.namespace == namespace, MetadefEntry.kind == "tag"))
    rows = [_add_entry(s, namespace, "tag", n, {}) for n in names]
    _touch(s, namespace)
    return [_tag_dict(r) for r in rows]
