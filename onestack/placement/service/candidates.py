"""GET /allocation_candidates: which sets of providers could satisfy a request, and how.

Candidates are computed per provider tree over an in-memory snapshot: each request group
yields its options in the tree (the unsuffixed group may spread its classes over the tree's
providers; a numbered group must be satisfied by one provider), the groups' options are
combined, and each combination is checked as a whole (capacity when groups share a provider,
group_policy=isolate, same_subtree). Sharing providers (MISC_SHARES_VIA_AGGREGATE) are not
pooled across trees.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from onestack.placement.service import snapshot
from onestack.placement.service.common import (
    bad_request,
    check_classes,
    is_uuid,
    norm_uuid,
    trait_ids,
)
from onestack.placement.service.query import MemberOf, TraitFilter
from onestack.placement.service.snapshot import Node, Snapshot


@dataclass
class RequestGroup:
    suffix: str  # "" for the unsuffixed group
    resources: dict[str, int] = field(default_factory=dict)
    required: TraitFilter = field(default_factory=TraitFilter)
    member_of: MemberOf = field(default_factory=MemberOf)
    in_tree: str | None = None


@dataclass
class CandidateQuery:
    groups: list[RequestGroup]
    group_policy: str | None = None
    limit: int | None = None
    root_required: TraitFilter = field(default_factory=TraitFilter)
    same_subtree: list[list[str]] = field(default_factory=list)
    max_candidates: int = 1000


# One option of a group: the nodes it uses, per class, and the nodes that "satisfy" it (mappings).
Option = tuple[dict[str, Node], list[Node]]


@dataclass
class Candidate:
    allocations: dict[str, dict[str, int]]
    mappings: dict[str, list[str]]
    root_id: int


def _node_ok(snap: Snapshot, node: Node, g: RequestGroup, tree_root: int | None) -> bool:
    if tree_root is not None and node.root_id != tree_root:
        return False
    return not g.member_of or g.member_of.matches(snap.aggregates_of(node))


def _unsuffixed_options(snap: Snapshot, tree: list[Node], g: RequestGroup, root: int | None) -> Iterator[Option]:
    if not g.resources:
        traits = set().union(*(n.traits for n in tree))
        if g.required.matches(traits):
            yield {}, []
        return
    per_class = []
    for rc, amount in g.resources.items():
        nodes = [n for n in tree if _node_ok(snap, n, g, root) and rc in n.inventories
                 and n.inventories[rc].fits(amount)]
        if not nodes:
            return
        per_class.append([(rc, n) for n in nodes])
    for combo in itertools.product(*per_class):
        chosen = dict(combo)
        used = {n.id: n for n in chosen.values()}
        traits = set().union(*(n.traits for n in used.values()))
        if g.required.matches(traits):
            yield chosen, list(used.values())


def _granular_options(snap: Snapshot, tree: list[Node], g: RequestGroup, root: int | None) -> Iterator[Option]:
    for n in tree:
        if not (_node_ok(snap, n, g, root) and g.required.matches(n.traits)):
            continue
        if all(rc in n.inventories and n.inventories[rc].fits(amount) for rc, amount in g.resources.items()):
            yield {rc: n for rc in g.resources}, [n]


def _combine(snap: Snapshot, q: CandidateQuery, choice: tuple[Option, ...], root_id: int) -> Candidate | None:
    totals: dict[tuple[int, str], int] = {}
    nodes: dict[int, Node] = {}
    for g, (by_class, _sat) in zip(q.groups, choice):
        for rc, node in by_class.items():
            totals[(node.id, rc)] = totals.get((node.id, rc), 0) + g.resources[rc]
            nodes[node.id] = node
    for (node_id, rc), amount in totals.items():
        if not nodes[node_id].inventories[rc].fits(amount):
            return None
    if q.group_policy == "isolate":
        granular = [sat[0].id for g, (_b, sat) in zip(q.groups, choice) if g.suffix and g.resources and sat]
        if len(granular) != len(set(granular)):
            return None
    mappings = {g.suffix: sorted({n.uuid for n in sat}) for g, (_b, sat) in zip(q.groups, choice) if sat}
    by_suffix = {g.suffix: sat for g, (_b, sat) in zip(q.groups, choice)}
    for suffixes in q.same_subtree:
        chosen = [n for sfx in suffixes for n in by_suffix.get(sfx, [])]
        if chosen and not any(all(top.id == n.id or top in snap.ancestors(n) for n in chosen) for top in chosen):
            return None
    allocations: dict[str, dict[str, int]] = {}
    for (node_id, rc), amount in sorted(totals.items()):
        allocations.setdefault(nodes[node_id].uuid, {})[rc] = amount
    return Candidate(allocations, mappings, root_id)


def _resolve_tree(snap: Snapshot, uuid_text: str | None) -> int | None:
    if uuid_text is None:
        return None
    if not is_uuid(uuid_text):
        raise bad_request(f"Invalid query string parameters: Invalid uuid value: {uuid_text}")
    node = snap.by_uuid(norm_uuid(uuid_text))
    return node.root_id if node else -1  # -1: no tree matches


def find(s: Session, q: CandidateQuery) -> tuple[list[Candidate], Snapshot]:
    # The snapshot reads every resource class: the requested ones are checked against it (400 for
    # an unknown one, before the traits' check, as before) rather than with a statement of their own.
    snap = snapshot.load(s)
    check_classes(snap.class_names.values(), {rc for g in q.groups for rc in g.resources})
    trait_ids(s, {t for g in q.groups for t in g.required.names()} | q.root_required.names())
    trees = {root: snap.tree(root) for root in sorted({n.root_id for n in snap.nodes.values()})}
    group_roots = [_resolve_tree(snap, g.in_tree) for g in q.groups]
    found: list[Candidate] = []
    seen: set[str] = set()
    cap = min(q.max_candidates, q.limit) if q.limit else q.max_candidates
    for root_id, tree in trees.items():
        root = snap.nodes[root_id]
        if q.root_required and not q.root_required.matches(root.traits):
            continue
        options = []
        for g, g_root in zip(q.groups, group_roots):
            maker = _granular_options if g.suffix else _unsuffixed_options
            options.append(list(maker(snap, tree, g, g_root)))
        for choice in itertools.product(*options):
            cand = _combine(snap, q, choice, root_id)
            if cand is None:
                continue
            key = repr((sorted((k, sorted(v.items())) for k, v in cand.allocations.items()),
                        sorted(cand.mappings.items())))
            if key in seen:
                continue
            seen.add(key)
            found.append(cand)
            if len(found) >= cap:
                return found, snap
    return found, snap


def summaries(snap: Snapshot, found: list[Candidate], requested: set[str], *, all_classes: bool,
              whole_trees: bool) -> dict[str, dict[str, Any]]:
    """Per-provider capacity/usage (and traits, parent, root) of the providers the candidates involve."""
    chosen: dict[int, Node] = {}
    for cand in found:
        if whole_trees:
            chosen.update({n.id: n for n in snap.tree(cand.root_id)})
        else:
            for rp_uuid in cand.allocations:
                node = snap.by_uuid(rp_uuid)
                if node is not None:
                    chosen[node.id] = node
    out: dict[str, dict[str, Any]] = {}
    for node in sorted(chosen.values(), key=lambda n: n.id):
        resources = {rc: {"capacity": inv.capacity, "used": inv.used} for rc, inv in node.inventories.items()
                     if all_classes or rc in requested}
        parent = snap.nodes.get(node.parent_id) if node.parent_id else None
        out[node.uuid] = {"resources": resources, "traits": sorted(node.traits),
                          "parent_provider_uuid": parent.uuid if parent else None,
                          "root_provider_uuid": snap.nodes[node.root_id].uuid}
    return out
