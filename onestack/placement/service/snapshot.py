"""A read of the provider graph (trees, inventories, usage, traits, aggregates) for filtering in memory.

Listing with filters and allocation candidates both need the same joined view; loading it in
a handful of queries and filtering in Python keeps the (tree-aware) rules readable.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from onestack.placement import models as m


@dataclass
class Inv:
    total: int
    reserved: int
    min_unit: int
    max_unit: int
    step_size: int
    allocation_ratio: float
    used: int = 0

    @property
    def capacity(self) -> int:
        return int((self.total - self.reserved) * self.allocation_ratio)

    def fits(self, amount: int, already: int = 0) -> bool:
        """Whether ``amount`` more (on top of ``already`` claimed in the same request) can be allocated."""
        return (self.min_unit <= amount <= self.max_unit and amount % self.step_size == 0
                and self.used + already + amount <= self.capacity)


@dataclass
class Node:
    id: int
    uuid: str
    name: str
    generation: int
    parent_id: int | None
    root_id: int
    inventories: dict[str, Inv] = field(default_factory=dict)
    traits: set[str] = field(default_factory=set)
    aggregates: set[str] = field(default_factory=set)


@dataclass
class Snapshot:
    nodes: dict[int, Node]
    class_names: dict[int, str] = field(default_factory=dict)  # every resource class: id -> name

    def by_uuid(self, rp_uuid: str) -> Node | None:
        return next((n for n in self.nodes.values() if n.uuid == rp_uuid), None)

    def tree(self, root_id: int) -> list[Node]:
        return [n for n in self.nodes.values() if n.root_id == root_id]

    def ancestors(self, node: Node) -> list[Node]:
        out: list[Node] = []
        current = node
        while current.parent_id is not None and current.parent_id in self.nodes:
            current = self.nodes[current.parent_id]
            out.append(current)
        return out

    def aggregates_of(self, node: Node) -> set[str]:
        """A provider is in its own aggregates and, for filtering, in those of its root."""
        root = self.nodes.get(node.root_id)
        return node.aggregates | (root.aggregates if root else set())


# Every candidates query loads a snapshot: its statements are built once.
_RP = m.ResourceProvider
_PROVIDERS = select(_RP.id, _RP.uuid, _RP.name, _RP.generation, _RP.parent_provider_id, _RP.root_provider_id)
_PROVIDERS_UNDER = _PROVIDERS.where(_RP.root_provider_id.in_(bindparam("roots", expanding=True)))
_CLASS_NAMES = select(m.ResourceClass.id, m.ResourceClass.name)
_INVENTORIES = select(m.Inventory.resource_provider_id, m.Inventory.resource_class_id, m.Inventory.total,
                      m.Inventory.reserved, m.Inventory.min_unit, m.Inventory.max_unit, m.Inventory.step_size,
                      m.Inventory.allocation_ratio)
_USED = select(m.Allocation.resource_provider_id, m.Allocation.resource_class_id, func.sum(m.Allocation.used)) \
    .group_by(m.Allocation.resource_provider_id, m.Allocation.resource_class_id)
_TRAIT_NAMES = select(m.Trait.id, m.Trait.name)
_PROVIDER_TRAITS = select(m.ProviderTrait.resource_provider_id, m.ProviderTrait.trait_id)
_PROVIDER_AGGREGATES = select(m.ProviderAggregate.resource_provider_id, m.ProviderAggregate.aggregate_uuid)


def load(s: Session, root_ids: Iterable[int] | None = None) -> Snapshot:
    if root_ids is None:
        rows = s.execute(_PROVIDERS)
    else:
        rows = s.execute(_PROVIDERS_UNDER, {"roots": sorted(set(root_ids))})
    nodes = {row[0]: Node(row[0], row[1], row[2], row[3], row[4], row[5] or row[0]) for row in rows}
    ids = set(nodes)
    names = dict(s.execute(_CLASS_NAMES).all())
    for row in s.execute(_INVENTORIES):
        if row[0] in ids:
            nodes[row[0]].inventories[names[row[1]]] = Inv(*row[2:])
    for rp_id, rc_id, amount in s.execute(_USED):
        node = nodes.get(rp_id)
        if node is not None and names[rc_id] in node.inventories:
            node.inventories[names[rc_id]].used = int(amount or 0)
    trait_names = dict(s.execute(_TRAIT_NAMES).all())
    for rp_id, trait_id in s.execute(_PROVIDER_TRAITS):
        if rp_id in ids:
            nodes[rp_id].traits.add(trait_names[trait_id])
    for rp_id, agg in s.execute(_PROVIDER_AGGREGATES):
        if rp_id in ids:
            nodes[rp_id].aggregates.add(agg)
    return Snapshot(nodes, names)


def children_map(snap: Snapshot) -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for node in snap.nodes.values():
        if node.parent_id is not None:
            out[node.parent_id].append(node.id)
    return out
