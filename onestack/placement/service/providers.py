"""Resource providers: create, show, rename/re-parent, delete, list with filters."""

from __future__ import annotations

import uuid as uuidlib
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import delete, exists, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.ids import utcnow
from onestack.placement import models as m
from onestack.placement.service import snapshot
from onestack.placement.service.common import (
    DUPLICATE_NAME,
    PROVIDER_HAS_CHILDREN,
    PROVIDER_INUSE,
    bad_request,
    class_ids,
    conflict,
    is_uuid,
    norm_uuid,
    provider,
    trait_ids,
)
from onestack.placement.service.query import MemberOf, TraitFilter

RP = m.ResourceProvider


def view(s: Session, rp: RP) -> dict[str, Any]:
    """The provider's fields, with its parent and root as uuids."""
    ids = {i for i in (rp.parent_provider_id, rp.root_provider_id) if i is not None}
    uuids = dict(s.execute(select(RP.id, RP.uuid).where(RP.id.in_(ids))).all()) if ids else {}
    return {
        "uuid": rp.uuid, "name": rp.name, "generation": rp.generation,
        "parent_provider_uuid": uuids.get(rp.parent_provider_id) if rp.parent_provider_id else None,
        "root_provider_uuid": uuids.get(rp.root_provider_id, rp.uuid) if rp.root_provider_id else rp.uuid,
    }


def _name_taken(s: Session, name: str, except_id: int | None = None) -> None:
    found = s.scalar(select(RP.id).where(RP.name == name))
    if found is not None and found != except_id:
        raise conflict(f"Conflicting resource provider name: {name} already exists.", DUPLICATE_NAME)


def _parent(s: Session, parent_uuid: str) -> RP:
    parent = s.scalar(select(RP).where(RP.uuid == norm_uuid(parent_uuid))) if is_uuid(parent_uuid) else None
    if parent is None:
        raise bad_request(f"parent provider UUID {parent_uuid} does not exist.")
    return parent


def create(s: Session, name: str, rp_uuid: str | None, parent_uuid: str | None) -> dict[str, Any]:
    rp_uuid = norm_uuid(rp_uuid) if rp_uuid else str(uuidlib.uuid4())
    if s.scalar(select(RP.id).where(RP.uuid == rp_uuid)) is not None:
        raise conflict(f"Conflicting resource provider uuid: {rp_uuid} already exists.", DUPLICATE_NAME)
    _name_taken(s, name)
    parent = _parent(s, parent_uuid) if parent_uuid else None
    now = utcnow()
    rp = RP(uuid=rp_uuid, name=name, generation=0, created_at=now, updated_at=now,
            parent_provider_id=parent.id if parent else None)
    s.add(rp)
    try:
        s.flush()
    except IntegrityError:
        raise conflict(f"Conflicting resource provider name: {name} already exists.", DUPLICATE_NAME) from None
    rp.root_provider_id = parent.root_provider_id if parent else rp.id
    s.flush()
    return view(s, rp)


def show(s: Session, rp_uuid: str) -> dict[str, Any]:
    return view(s, provider(s, rp_uuid))


def _descendant_ids(s: Session, rp: RP) -> set[int]:
    snap = snapshot.load(s, [rp.root_provider_id or rp.id])
    kids = snapshot.children_map(snap)
    out: set[int] = set()
    todo = [rp.id]
    while todo:
        for child in kids.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def _reparent(s: Session, rp: RP, parent_uuid: str | None, allow_move: bool) -> None:
    current = rp.parent_provider_id
    if parent_uuid is None:
        if current is not None and not allow_move:
            raise bad_request("Un-parenting a provider is not allowed before microversion 1.37.")
        new_parent = None
    else:
        new_parent = _parent(s, parent_uuid)
        if current is not None and current != new_parent.id and not allow_move:
            raise bad_request("re-parenting a provider is not currently allowed.")
        if new_parent.id == rp.id or new_parent.id in _descendant_ids(s, rp):
            raise bad_request("creating loop in the provider tree is not allowed.")
    if (new_parent.id if new_parent else None) == current:
        return
    moving = {rp.id} | _descendant_ids(s, rp)
    new_root = new_parent.root_provider_id if new_parent else rp.id
    rp.parent_provider_id = new_parent.id if new_parent else None
    for node in s.scalars(select(RP).where(RP.id.in_(moving))):
        node.root_provider_id = new_root


def update(s: Session, rp_uuid: str, body: dict[str, Any], allow_move: bool) -> dict[str, Any]:
    rp = provider(s, rp_uuid)
    if "name" in body and body["name"] != rp.name:
        _name_taken(s, body["name"], rp.id)
        rp.name = body["name"]
    if "parent_provider_uuid" in body:
        _reparent(s, rp, body["parent_provider_uuid"], allow_move)
    rp.updated_at = utcnow()
    try:
        s.flush()
    except IntegrityError:
        raise conflict(f"Conflicting resource provider name: {body.get('name')} already exists.",
                       DUPLICATE_NAME) from None
    return view(s, rp)


def remove(s: Session, rp_uuid: str) -> None:
    rp = provider(s, rp_uuid)
    if s.scalar(select(exists().where(m.Allocation.resource_provider_id == rp.id))):
        raise conflict(f"Unable to delete resource provider {rp.uuid}: Resource provider has allocations.",
                       PROVIDER_INUSE)
    if s.scalar(select(exists().where(RP.parent_provider_id == rp.id))):
        raise conflict(f"Unable to delete parent resource provider {rp.uuid}: It has child resource "
                       "providers.", PROVIDER_HAS_CHILDREN)
    for model in (m.Inventory, m.ProviderTrait, m.ProviderAggregate):
        s.execute(delete(model).where(model.resource_provider_id == rp.id))
    if rp.root_provider_id == rp.id:
        rp.root_provider_id = None
        s.flush()
    s.delete(rp)


@dataclass
class ProviderFilters:
    name: str | None = None
    uuid: str | None = None
    in_tree: str | None = None
    member_of: MemberOf = field(default_factory=MemberOf)
    resources: dict[str, int] = field(default_factory=dict)
    required: TraitFilter = field(default_factory=TraitFilter)


def listing(s: Session, f: ProviderFilters) -> list[dict[str, Any]]:
    class_ids(s, f.resources)
    trait_ids(s, f.required.names())
    snap = snapshot.load(s)
    root: int | None = None
    if f.in_tree is not None:
        if not is_uuid(f.in_tree):
            raise bad_request(f"Invalid query string parameters: Invalid uuid value: {f.in_tree}")
        node = snap.by_uuid(norm_uuid(f.in_tree))
        if node is None:
            return []
        root = node.root_id
    out = []
    for node in sorted(snap.nodes.values(), key=lambda n: n.id):
        if f.name is not None and node.name != f.name:
            continue
        if f.uuid is not None and node.uuid != f.uuid:
            continue
        if root is not None and node.root_id != root:
            continue
        if f.member_of and not f.member_of.matches(snap.aggregates_of(node)):
            continue
        if not all(rc in node.inventories and node.inventories[rc].fits(n) for rc, n in f.resources.items()):
            continue
        if f.required and not f.required.matches(node.traits):
            continue
        parent = snap.nodes.get(node.parent_id) if node.parent_id else None
        out.append({"uuid": node.uuid, "name": node.name, "generation": node.generation,
                    "parent_provider_uuid": parent.uuid if parent else None,
                    "root_provider_uuid": snap.nodes[node.root_id].uuid if node.root_id in snap.nodes else node.uuid})
    return out
