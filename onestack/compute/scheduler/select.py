"""Choosing hosts for a request: filter, weigh, sort, claim — a pure function of a snapshot.

The caller passes every candidate HostState (typically the compute nodes placement returned
as allocation candidates) and a ``claim`` callback that makes the real, atomic allocation
in placement; a False return means another scheduler got there first, and the next-best host
is tried. Between the instances of one request the snapshot is updated on private copies —
resources, instance counts and server-group membership — so that, e.g., two instances of an
anti-affinity group land on different hosts. The caller's objects are never modified.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from onestack.compute.scheduler.filters.base import HostFilter
from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec
from onestack.compute.scheduler.weighers.base import HostWeigher, total_weights
from onestack.core.rpc import remote_error

NOT_ENOUGH_HOSTS = "There are not enough hosts available."

Claim = Callable[[HostState, int], bool]
Unclaim = Callable[[HostState, int], None]


@remote_error
class NoValidHost(Exception):
    """No host can take (one of) the requested instances; Nova's message shape. Crosses the
    bus: the conductor catches it by class, its message is the whole text."""

    def __init__(self, reason: str = NOT_ENOUGH_HOSTS,
                 filter_counts: Sequence[tuple[str, int]] = ()) -> None:
        self.reason = reason
        # (filter name, hosts left after it) for the instance that failed — for logs only,
        # users see just the message, as in Nova.
        self.filter_counts = list(filter_counts)
        super().__init__(f"No valid host was found. {reason}")


@dataclass(frozen=True)
class Selection:
    host: HostState  # the caller's object, claimed
    alternates: tuple[HostState, ...] = ()  # next-best hosts, not claimed, for rescheduling


class _Snapshot:
    """The caller's hosts plus private copies of those this request has consumed from."""

    def __init__(self, hosts: Sequence[HostState]) -> None:
        self.originals = list(hosts)
        self.views = list(hosts)
        self._owned: set[int] = set()

    def consume(self, i: int, spec: RequestSpec, index: int) -> None:
        if i not in self._owned:
            self.views[i] = self.originals[i].copy()
            self._owned.add(i)
        host, flavor, group = self.views[i], spec.flavor, spec.instance_group
        host.vcpus_used += flavor.vcpus
        host.memory_mb_used += flavor.memory_mb
        host.disk_gb_used += flavor.disk_gb
        host.num_instances += 1
        uuid = spec.instance_uuid(index)
        host.instances[uuid] = group.uuid if group is not None else None
        if group is not None:  # spec is the request's private copy
            if host.host not in group.hosts:
                group.hosts.append(host.host)
            if uuid not in group.members:
                group.members.append(uuid)


def _candidates(hosts: Sequence[HostState], spec: RequestSpec) -> tuple[list[int], bool]:
    """Indices left after ignore_hosts and force_hosts/force_nodes; True when forced."""
    ignore = set(spec.ignore_hosts)
    idx = [i for i, h in enumerate(hosts) if h.host not in ignore]
    if not (spec.force_hosts or spec.force_nodes):
        return idx, False
    want_hosts, want_nodes = set(spec.force_hosts), set(spec.force_nodes)
    return [i for i in idx
            if (not want_hosts or hosts[i].host in want_hosts)
            and (not want_nodes or hosts[i].nodename in want_nodes)], True


def _run_filters(views: Sequence[HostState], idx: list[int], filters: Sequence[HostFilter],
                 spec: RequestSpec, counts: list[tuple[str, int]]) -> list[int]:
    for flt in filters:
        idx = [i for i in idx if flt.host_passes(views[i], spec)]
        counts.append((type(flt).__name__, len(idx)))
        if not idx:
            break
    return idx


def _ranked(views: Sequence[HostState], idx: list[int], spec: RequestSpec,
            weighers: Sequence[HostWeigher], subset: int, rng: random.Random | None) -> list[int]:
    """Best first; with host_subset_size > 1 a random one of the top N goes first."""
    totals = total_weights([views[i] for i in idx], spec, weighers)
    # sorted() is stable, so equal weights keep the caller's order (deterministic tests).
    ranked = [idx[k] for k in sorted(range(len(idx)), key=totals.__getitem__, reverse=True)]
    n = min(max(1, subset), len(ranked))
    if n > 1:
        pick = (rng or random.Random()).randrange(n)
        ranked.insert(0, ranked.pop(pick))
    return ranked


def select_with_alternates(
    hosts: Sequence[HostState], spec: RequestSpec, filters: Sequence[HostFilter],
    weighers: Sequence[HostWeigher], *, claim: Claim, host_subset_size: int = 1,
    max_attempts: int = 1, rng: random.Random | None = None, unclaim: Unclaim | None = None,
) -> list[Selection]:
    """One claimed Selection per instance, each with up to ``max_attempts - 1`` alternates.

    ``claim(host, index)`` gets the caller's HostState and the instance's index in the
    request. If an instance cannot be placed, ``unclaim`` (when given) is called for every
    earlier claim of this request, newest first, and NoValidHost is raised.
    """
    snap = _Snapshot(hosts)
    work = copy.deepcopy(spec)  # filters see group hosts/members grow; the caller's stays put
    once = [f for f in filters if getattr(f, "run_filter_once_per_request", False)]
    every = [f for f in filters if not getattr(f, "run_filter_once_per_request", False)]
    cands, forced = _candidates(snap.originals, work)
    once_counts: list[tuple[str, int]] = []
    # Forced hosts skip the filters, as in Nova: the admin asked for exactly these.
    base = cands if forced else _run_filters(snap.views, cands, once, work, once_counts)
    lost: set[int] = set()  # hosts whose claim failed: their state is stale, skip them
    done: list[Selection] = []
    for index in range(work.num_instances):
        counts = list(once_counts)
        live = [i for i in base if i not in lost] if lost else base
        passing = live if forced else _run_filters(snap.views, live, every, work, counts)
        ranked = _ranked(snap.views, passing, work, weighers, host_subset_size, rng)
        chosen = _claim_first(ranked, snap.originals, index, claim, lost)
        if chosen is None:
            _release(done, unclaim)
            raise NoValidHost(NOT_ENOUGH_HOSTS, counts)
        i = ranked[chosen]
        spare = [snap.originals[j] for j in ranked[chosen + 1:] if j not in lost]
        done.append(Selection(snap.originals[i], tuple(spare[:max(0, max_attempts - 1)])))
        snap.consume(i, work, index)
    return done


def _claim_first(ranked: list[int], originals: Sequence[HostState], index: int, claim: Claim,
                 lost: set[int]) -> int | None:
    """Position in ``ranked`` of the first host whose claim succeeds; losers go to ``lost``."""
    for pos, i in enumerate(ranked):
        if claim(originals[i], index):
            return pos
        lost.add(i)
    return None


def _release(done: list[Selection], unclaim: Unclaim | None) -> None:
    if unclaim is None:
        return
    for index in range(len(done) - 1, -1, -1):
        unclaim(done[index].host, index)


def select_destinations(
    hosts: Sequence[HostState], spec: RequestSpec, filters: Sequence[HostFilter],
    weighers: Sequence[HostWeigher], *, claim: Claim, host_subset_size: int = 1,
    rng: random.Random | None = None, unclaim: Unclaim | None = None,
) -> list[HostState]:
    """The claimed host (the caller's object) for each of ``spec.num_instances`` instances."""
    return [s.host for s in select_with_alternates(
        hosts, spec, filters, weighers, claim=claim, host_subset_size=host_subset_size,
        rng=rng, unclaim=unclaim)]
