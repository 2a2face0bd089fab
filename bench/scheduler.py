"""Scheduler decision time over simulated hosts (no server, no database).

    python bench/scheduler.py                      # 100 / 1,000 / 5,000 hosts
    python bench/scheduler.py --hosts 1000 --decisions 500 --instances 1

One decision = one select_destinations() call over a fresh snapshot of N hosts with the
default [scheduler] filters and weighers, the claim callback always succeeding (placement's
own time is not part of it). Hosts are varied: random usage, 3 availability-zone aggregates,
2 % of services down, a few existing server-group members. Prints p50/p99/max in ms.
Results: docs/performance.md (scheduler section).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onestack.compute.scheduler import registry
from onestack.compute.scheduler.host_state import Aggregate, HostState
from onestack.compute.scheduler.request import Flavor, InstanceGroup, RequestSpec
from onestack.compute.scheduler.select import select_destinations
from onestack.core.config import SchedulerConfig


def make_hosts(count: int, rng: random.Random) -> list[HostState]:
    names = [f"compute{i:05d}" for i in range(count)]
    zones = [Aggregate(id=z, name=f"az{z}", hosts=names[z::3],
                       metadata={"availability_zone": f"az{z}"}) for z in range(3)]
    hosts = []
    for i, name in enumerate(names):
        members = {f"member-{i}": "g-anti"} if i % 50 == 0 else {}
        hosts.append(HostState(
            host=name, uuid=f"rp-{i}", aggregates=[zones[i % 3]],
            service_up=rng.random() > 0.02, vcpus_total=64, vcpus_used=rng.randint(0, 200),
            cpu_allocation_ratio=4.0, memory_mb=262144, memory_mb_used=rng.randint(0, 250000),
            disk_gb=2000, disk_gb_used=rng.randint(0, 1900), reserved_memory_mb=512,
            num_instances=rng.randint(0, 60), instances=members, hypervisor_type="QEMU",
            hypervisor_version=8002000, cpu_info={"arch": "x86_64", "features": ["avx2"]},
            supported_instances=[("x86_64", "qemu", "hvm"), ("x86_64", "kvm", "hvm")]))
    return hosts


def make_spec(instances: int, with_group: bool) -> RequestSpec:
    members = [f"member-{i}" for i in range(0, 5000, 50)]
    group = InstanceGroup(uuid="g-anti", policy="anti-affinity", members=members) if with_group \
        else None
    return RequestSpec(
        flavor=Flavor(vcpus=4, memory_mb=8192, root_gb=40,
                      extra_specs={"hw:cpu_policy": "shared",
                                   "capabilities:cpu_info:features": "<in> avx2"}),
        image_properties={"hw_architecture": "x86_64", "img_hv_type": "kvm"},
        num_instances=instances, instance_group=group)


def run(count: int, decisions: int, instances: int, with_group: bool, seed: int) -> list[float]:
    rng = random.Random(seed)
    hosts = make_hosts(count, rng)
    filters, weighers = registry.from_config(SchedulerConfig())
    spec = make_spec(instances, with_group)
    times = []
    for _ in range(decisions):
        started = time.perf_counter()
        select_destinations(hosts, spec, filters, weighers, claim=lambda h, i: True)
        times.append((time.perf_counter() - started) * 1000)
    return times


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hosts", type=int, nargs="*", default=[100, 1000, 5000])
    parser.add_argument("--decisions", type=int, default=200, help="decisions per row")
    parser.add_argument("--instances", type=int, nargs="*", default=[1, 10])
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    print(f"{'hosts':>6} {'instances':>9} {'group':>13} {'decisions':>9} "
          f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}")
    for count in args.hosts:
        for instances in args.instances:
            for with_group in (False, True):
                n = max(10, args.decisions // instances)
                t = run(count, n, instances, with_group, args.seed)
                label = "anti-affinity" if with_group else "-"
                print(f"{count:>6} {instances:>9} {label:>13} {n:>9} {pct(t, 0.5):>8.2f} "
                      f"{pct(t, 0.99):>8.2f} {max(t):>8.2f} {statistics.mean(t):>8.2f}")


if __name__ == "__main__":
    main()
