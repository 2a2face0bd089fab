"""The agent scheduler's cost: the read every agent's pass makes (``needs_reschedule`` and its
``stale_networks``), and a failover of a dead host's share of N networks and N/2 routers.

    python bench/network_scheduler.py [--networks 1000] [--hosts 3] [--db postgresql|sqlite]

Builds the network tables in a database of its own (the service functions, no API), one DHCP
subnet per network, places everything over ``--hosts`` agents (least loaded), then times: the
per-pass read on a quiet cloud (median of 50), and the one write transaction that moves the
networks and routers of a host gone silent to the others (the DHCP ports re-bound, addresses kept).
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.core.config import NetworkConfig
from onestack.core.db import Database, create_db_engine
from onestack.network import models
from onestack.network.agent.host import ROLES
from onestack.network.service import agent_scheduler, agents, dhcp_ports, networks, routers, subnets
from onestack.network.service.common import Caller, now

ADMIN = Caller(project_id=None, is_admin=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--networks", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=3)
    parser.add_argument("--db", choices=["postgresql", "sqlite"], default="postgresql")
    args = parser.parse_args()
    import tempfile

    from tests.functional.cloud import create_test_database, drop_test_database

    url = create_test_database("postgresql") if args.db == "postgresql" else \
        f"sqlite:///{Path(tempfile.mkdtemp(prefix='bench-sched-')) / 'n.db'}"
    db = Database(create_db_engine(url))
    models.Base.metadata.create_all(db.engine)
    config = NetworkConfig()
    hosts = [f"host-{i}" for i in range(args.hosts)]
    try:
        for h in hosts:
            db.run_sync(lambda s, h=h: agents.report_state(s, h, ROLES, True))
        db.run_sync(lambda s: s.add_all([models.Quota(project_id="p", resource=r, limit=-1)
                                         for r in ("network", "subnet", "port", "router")]))

        def build(s: Session, start: int, count: int) -> None:
            for i in range(start, start + count):
                net = networks.create(s, ADMIN, "p", {"name": f"n{i}"}, 1500)
                subnets.create(s, ADMIN, "p", {"network_id": net["id"], "ip_version": 4,
                                               "cidr": f"10.{i // 256}.{i % 256}.0/28"}, config)
                if i % 2 == 0:
                    routers.create(s, ADMIN, "p", {"name": f"r{i}"}, config)

        t0 = time.perf_counter()
        for start in range(0, args.networks, 100):
            db.run_sync(lambda s, st=start: build(s, st, min(100, args.networks - st)))
        print(f"built {args.networks} networks, {args.networks // 2} routers over {args.hosts} hosts "
              f"in {time.perf_counter() - t0:.1f}s")

        def median_ms(fn: Callable[[Session], object]) -> float:
            times = []
            for _ in range(50):
                t = time.perf_counter()
                assert not db.run_sync(fn, write=False)
                times.append(time.perf_counter() - t)
            return statistics.median(times) * 1000

        resched = median_ms(lambda s: agent_scheduler.needs_reschedule(s, config))
        stale = median_ms(lambda s: dhcp_ports.stale_networks(s, hosts[0], config.agent_down_time,
                                                              config.max_fixed_ips_per_port))
        print(f"per-pass reads on a quiet cloud, median of 50: needs_reschedule {resched:.1f} ms, "
              f"stale_networks of {hosts[0]} {stale:.1f} ms")

        def silence(s: Session) -> None:
            for a in s.scalars(select(models.Agent).where(models.Agent.host == hosts[-1])):
                a.heartbeat_timestamp = now() - timedelta(seconds=config.agent_down_time + 5)

        db.run_sync(silence)
        moved_nets, moved_routers, writes = 0, 0, []
        while db.run_sync(lambda s: agent_scheduler.needs_reschedule(s, config), write=False):
            t = time.perf_counter()
            nets, rts = db.run_sync(lambda s: agent_scheduler.reschedule(s, config))
            writes.append(time.perf_counter() - t)
            moved_nets, moved_routers = moved_nets + len(nets), moved_routers + len(rts)
        print(f"failover of {hosts[-1]}: {moved_nets} networks (DHCP port re-bound) and {moved_routers} routers "
              f"in {len(writes)} writes of at most {agent_scheduler.BATCH} networks: {sum(writes):.2f}s in all, "
              f"longest write {max(writes):.2f}s ({sum(writes) / max(moved_nets, 1) * 1000:.1f} ms per network)")
    finally:
        db.dispose()
        if args.db == "postgresql":
            drop_test_database(url)


if __name__ == "__main__":
    main()
