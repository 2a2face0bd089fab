from __future__ import annotations

import copy
import random
import time

import pytest

from onestack.compute.scheduler import registry
from onestack.compute.scheduler.filters.compute import ComputeFilter
from onestack.compute.scheduler.filters.ram import RamFilter
from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import Flavor
from onestack.compute.scheduler.select import (
    NoValidHost,
    select_destinations,
    select_with_alternates,
)
from onestack.compute.scheduler.weighers.base import HostWeigher
from onestack.compute.scheduler.weighers.ram import RAMWeigher
from onestack.compute.scheduler.weighers.soft_affinity import ServerGroupSoftAffinityWeigher
from onestack.compute.scheduler.weighers.soft_anti_affinity import (
    ServerGroupSoftAntiAffinityWeigher,
)
from onestack.core.config import SchedulerConfig
from tests.unit.compute.scheduler.helpers import group, host, spec

FILTERS, WEIGHERS = registry.from_config(SchedulerConfig())


def always(_: HostState, __: int) -> bool:
    return True


def names(hosts: list[HostState]) -> list[str]:
    return [h.host for h in hosts]


def test_picks_the_host_with_most_free_ram_by_default() -> None:
    hosts = [host("small", memory_mb=4096), host("big", memory_mb=65536), host("mid")]
    assert names(select_destinations(hosts, spec(), FILTERS, WEIGHERS, claim=always)) == ["big"]


def test_negative_ram_multiplier_stacks() -> None:
    hosts = [host("small", memory_mb=4096), host("big", memory_mb=65536)]
    stack: list[HostWeigher] = [RAMWeigher(-1.0)]
    assert names(select_destinations(hosts, spec(), FILTERS, stack, claim=always)) == ["small"]


def test_filtered_hosts_are_never_chosen() -> None:
    hosts = [host("down", memory_mb=99999, service_up=False), host("up")]
    assert names(select_destinations(hosts, spec(), FILTERS, WEIGHERS, claim=always)) == ["up"]


def test_no_valid_host_has_novas_message() -> None:
    hosts = [host("a", service_disabled=True), host("b", service_up=False)]
    with pytest.raises(NoValidHost) as err:
        select_destinations(hosts, spec(), FILTERS, WEIGHERS, claim=always)
    assert str(err.value) == "No valid host was found. There are not enough hosts available."
    assert ("ComputeFilter", 0) in err.value.filter_counts
    with pytest.raises(NoValidHost):
        select_destinations([], spec(), FILTERS, WEIGHERS, claim=always)


def test_claim_failure_falls_through_to_next_host() -> None:
    hosts = [host("best", memory_mb=65536), host("second", memory_mb=32768), host("third")]
    tried: list[tuple[str, int]] = []

    def claim(h: HostState, index: int) -> bool:
        tried.append((h.host, index))
        return h.host != "best"  # lost the race on the best host

    assert names(select_destinations(hosts, spec(), FILTERS, WEIGHERS, claim=claim)) == ["second"]
    assert tried == [("best", 0), ("second", 0)]


def test_lost_host_is_not_retried_for_later_instances() -> None:
    hosts = [host("best", memory_mb=65536), host("second", memory_mb=32768)]
    tried: list[str] = []

    def claim(h: HostState, index: int) -> bool:
        tried.append(h.host)
        return h.host != "best"

    chosen = select_destinations(hosts, spec(num_instances=2), FILTERS, WEIGHERS, claim=claim)
    assert names(chosen) == ["second", "second"]
    assert tried.count("best") == 1


def test_all_claims_failing_releases_earlier_claims_and_raises() -> None:
    hosts = [host("a"), host("b")]
    claimed: list[tuple[str, int]] = []
    released: list[tuple[str, int]] = []

    def claim(h: HostState, index: int) -> bool:
        if index == 1:
            return False
        claimed.append((h.host, index))
        return True

    with pytest.raises(NoValidHost):
        select_destinations(hosts, spec(num_instances=2), FILTERS, WEIGHERS, claim=claim,
                            unclaim=lambda h, i: released.append((h.host, i)))
    assert released == claimed and len(claimed) == 1


def test_consumption_is_accounted_between_instances() -> None:
    # Two equal hosts: with spreading, the second instance goes to the other host.
    hosts = [host("a"), host("b")]
    chosen = select_destinations(hosts, spec(num_instances=2), FILTERS, WEIGHERS, claim=always)
    assert sorted(names(chosen)) == ["a", "b"]
    # With room for exactly one instance each, RamFilter forces three onto three hosts.
    hosts = [host(n, memory_mb=2048) for n in "xyz"]
    chosen = select_destinations(hosts, spec(num_instances=3), [RamFilter()], WEIGHERS,
                                 claim=always)
    assert sorted(names(chosen)) == ["x", "y", "z"]
    with pytest.raises(NoValidHost):
        select_destinations(hosts, spec(num_instances=4), [RamFilter()], WEIGHERS, claim=always)


def test_callers_hosts_and_spec_are_not_mutated() -> None:
    hosts = [host("a", instances={"old": "g1"}), host("b"), host("c")]
    before = copy.deepcopy(hosts)
    request = spec(num_instances=2, instance_group=group("anti-affinity", members=["old"]),
                   instance_uuids=["n1", "n2"])
    request_before = copy.deepcopy(request)
    chosen = select_destinations(hosts, request, FILTERS, WEIGHERS, claim=lambda h, i: True)
    assert hosts == before and request == request_before
    assert sorted(names(chosen)) == ["b", "c"]
    assert all(any(c is h for h in hosts) for c in chosen)  # the caller's own objects


def test_anti_affinity_spreads_instances_of_one_request() -> None:
    hosts = [host("big", memory_mb=1_000_000), host("b"), host("c")]
    g = group("anti-affinity")
    chosen = select_destinations(hosts, spec(num_instances=3, instance_group=g), FILTERS,
                                 WEIGHERS, claim=always)
    assert sorted(names(chosen)) == ["b", "big", "c"]
    with pytest.raises(NoValidHost):
        select_destinations(hosts, spec(num_instances=4, instance_group=group("anti-affinity")),
                            FILTERS, WEIGHERS, claim=always)


def test_anti_affinity_respects_existing_members_and_max_server_per_host() -> None:
    hosts = [host("big", memory_mb=1_000_000, instances={"m1": "g1"}), host("b")]
    g = group("anti-affinity", members=["m1"])
    assert names(select_destinations(hosts, spec(instance_group=g), FILTERS, WEIGHERS,
                                     claim=always)) == ["b"]
    g2 = group("anti-affinity", members=["m1"], rules={"max_server_per_host": 2})
    chosen = select_destinations(hosts, spec(num_instances=3, instance_group=g2), FILTERS,
                                 WEIGHERS, claim=always)
    assert sorted(names(chosen)) == ["b", "b", "big"]


def test_affinity_keeps_all_instances_together() -> None:
    hosts = [host("a"), host("b"), host("c")]
    chosen = select_destinations(hosts, spec(num_instances=3, instance_group=group("affinity")),
                                 FILTERS, WEIGHERS, claim=always)
    assert len(set(names(chosen))) == 1
    existing = group("affinity", hosts=["c"], members=["m"])
    chosen = select_destinations(hosts, spec(num_instances=2, instance_group=existing),
                                 FILTERS, WEIGHERS, claim=always)
    assert names(chosen) == ["c", "c"]


def test_affinity_with_a_failed_claim_on_the_group_host_is_no_valid_host() -> None:
    hosts = [host("a"), host("b")]
    existing = group("affinity", hosts=["a"])
    with pytest.raises(NoValidHost):
        select_destinations(hosts, spec(instance_group=existing), FILTERS, WEIGHERS,
                            claim=lambda h, i: h.host != "a")


def test_soft_affinity_and_soft_anti_affinity_weigh_placed_instances() -> None:
    hosts = [host("a"), host("b"), host("c")]
    soft: list[HostWeigher] = [ServerGroupSoftAffinityWeigher(10.0), *WEIGHERS]
    chosen = select_destinations(hosts, spec(num_instances=3, instance_group=group("soft-affinity")),
                                 FILTERS, soft, claim=always)
    assert len(set(names(chosen))) == 1
    anti: list[HostWeigher] = [ServerGroupSoftAntiAffinityWeigher(10.0), RAMWeigher(-1.0)]
    request = spec(num_instances=3, instance_group=group("soft-anti-affinity"))
    assert len(set(names(select_destinations(hosts, request, FILTERS, anti, claim=always)))) == 3


def test_ignore_and_force_hosts() -> None:
    hosts = [host("a", memory_mb=65536), host("b"), host("c", service_up=False)]
    assert names(select_destinations(hosts, spec(ignore_hosts=["a"]), FILTERS, WEIGHERS,
                                     claim=always)) == ["b"]
    # forcing skips the filters: the admin asked for exactly this (down) host
    assert names(select_destinations(hosts, spec(force_hosts=["c"]), FILTERS, WEIGHERS,
                                     claim=always)) == ["c"]
    assert names(select_destinations(hosts, spec(force_nodes=["b"]), FILTERS, WEIGHERS,
                                     claim=always)) == ["b"]
    with pytest.raises(NoValidHost):
        select_destinations(hosts, spec(force_hosts=["a"], ignore_hosts=["a"]), FILTERS,
                            WEIGHERS, claim=always)


def test_host_subset_size_picks_among_the_top_n() -> None:
    hosts = [host(f"h{i}", memory_mb=1024 * (i + 4)) for i in range(10)]
    rng = random.Random(7)
    seen = {select_destinations(hosts, spec(), FILTERS, WEIGHERS, claim=always,
                                host_subset_size=3, rng=rng)[0].host for _ in range(60)}
    assert seen == {"h9", "h8", "h7"}


def test_alternates_are_the_next_best_hosts() -> None:
    hosts = [host(f"h{i}", memory_mb=1024 * (i + 4)) for i in range(5)]
    picks = select_with_alternates(hosts, spec(num_instances=2), FILTERS, WEIGHERS, claim=always,
                                   max_attempts=3)
    assert picks[0].host.host == "h4" and names(list(picks[0].alternates)) == ["h3", "h2"]
    assert len(picks[1].alternates) == 2 and picks[1].host not in picks[1].alternates


def test_filters_run_once_per_request_are_not_rerun() -> None:
    calls: list[str] = []

    class Counting(ComputeFilter):
        def host_passes(self, host: HostState, spec: object) -> bool:
            calls.append(host.host)
            return True

    hosts = [host("a"), host("b")]
    select_destinations(hosts, spec(num_instances=3), [Counting()], WEIGHERS, claim=always)
    assert sorted(calls) == ["a", "b"]


def test_zero_instances_selects_nothing() -> None:
    assert select_destinations([host()], spec(num_instances=0), FILTERS, WEIGHERS,
                               claim=always) == []


def test_thousand_hosts() -> None:
    rng = random.Random(1)
    hosts = [host(f"cmp{i:04d}", vcpus_used=rng.randint(0, 60), cpu_allocation_ratio=4.0,
                  memory_mb_used=rng.randint(0, 30000), disk_gb_used=rng.randint(0, 400),
                  service_up=rng.random() > 0.02, num_instances=rng.randint(0, 30),
                  supported_instances=[("x86_64", "kvm", "hvm")])
             for i in range(1000)]
    request = spec(num_instances=10, instance_group=group("anti-affinity"),
                   flavor=Flavor(vcpus=4, memory_mb=4096, root_gb=40),
                   image_properties={"hw_architecture": "x86_64"})
    started = time.perf_counter()
    chosen = select_destinations(hosts, request, FILTERS, WEIGHERS, claim=always)
    elapsed = time.perf_counter() - started
    print(f"\n1000 hosts, 10 anti-affinity instances: {elapsed * 1000:.1f} ms")
    assert len(set(names(chosen))) == 10
    assert all(h.service_up for h in chosen)
    best_free = max(h.free_ram_mb for h in hosts if h.service_up)
    assert chosen[0].free_ram_mb >= best_free * 0.5  # a well-ranked host, not an arbitrary one
