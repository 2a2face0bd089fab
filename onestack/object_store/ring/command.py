"""``onestack ring``: the operator's view and changes of the object ring (swift-ring-builder's).

The ring lives in the cloud's database, so the command opens the database the cloud uses (the
data dir's SQLite by default, or ``--db-url``) and works whether the cloud runs or not: a running
cloud's proxies load a rebalanced ring within ``object_store.ring_check_interval`` and its agents
with their next device report. Replicas and part power are the current ring's.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from onestack.core.config import Config

HELP = "show and change the object ring (as swift-ring-builder): list, set-weight, remove, add, rebalance"
DESCRIPTION = """\
The object ring in the cloud's database (the data dir's, or --db-url's).

  list                     every device: id, region/zone, host, address, device, weight,
                           partitions in the current ring, state (-f json for scripts)
  show [DEVICE]            the ring's version, replicas, partitions, then the devices (or one)
  set-weight DEVICE WEIGHT the device's weight from now on: it wins over what its agent reports
  remove DEVICE            take the device out of the ring; it stays out, even when its agent
                           reports it again, until `add DEVICE`
  add DEVICE               bring back a removed device
  rebalance                build the ring that applies the changes; the replicators then move
                           the data (a partition moves at most one replica per rebalance)

DEVICE is a device's id, HOST/DEVICE, or a device name only one host has. set-weight, remove
and add change nothing until rebalance (or until an agent's new device makes the cloud rebuild
the ring, which applies them too). A change that leaves fewer devices with weight than the
ring's replicas is refused.
"""


def add_parser(sub: Any, common: Any) -> None:
    ring = sub.add_parser("ring", help=HELP, description=DESCRIPTION,
                          formatter_class=argparse.RawDescriptionHelpFormatter)
    ring_sub = ring.add_subparsers(dest="ring_command", required=True)
    p = ring_sub.add_parser("list", help="every device, its weight, partitions and state")
    common(p)
    p.add_argument("-f", "--format", choices=["table", "json"], default="table")
    p = ring_sub.add_parser("show", help="the ring's summary and its devices (or one device)")
    common(p)
    p.add_argument("device", nargs="?", metavar="DEVICE", help="id, HOST/DEVICE, or a device name")
    p.add_argument("-f", "--format", choices=["table", "json"], default="table")
    p = ring_sub.add_parser("set-weight", help="set a device's weight (wins over its agent's reports)")
    common(p)
    p.add_argument("device", metavar="DEVICE")
    p.add_argument("weight", metavar="WEIGHT", type=float)
    p = ring_sub.add_parser("remove", help="take a device out of the ring until it is added back")
    common(p)
    p.add_argument("device", metavar="DEVICE")
    p = ring_sub.add_parser("add", help="bring back a removed device")
    common(p)
    p.add_argument("device", metavar="DEVICE")
    p = ring_sub.add_parser("rebalance", help="build the ring that applies the recorded changes")
    common(p)


def _table(views: list[Any]) -> str:
    head = ("id", "region", "zone", "host", "address", "device", "weight", "partitions", "state")
    rows = [(str(v.id), str(v.region), str(v.zone), v.host, f"{v.ip}:{v.port}" if v.port else "in-process",
             v.device, f"{v.weight:g}" + (" (operator)" if v.operator_weight is not None else ""),
             str(v.partitions), v.state) for v in views]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows])


def _as_json(v: Any) -> dict[str, Any]:
    return {"id": v.id, "region": v.region, "zone": v.zone, "host": v.host, "ip": v.ip, "port": v.port,
            "device": v.device, "weight": v.weight, "reported_weight": v.reported_weight,
            "operator_weight": v.operator_weight, "partitions": v.partitions, "in_ring": v.in_ring,
            "removed": v.removed}


def run(args: argparse.Namespace, config: Config) -> int:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError, ProgrammingError

    from onestack.core.db import open_database  # not server's: that imports every service
    from onestack.object_store.ring import admin

    url = make_url(config.database_url)
    # A wrong --data-dir must not leave an empty database (and data dir) behind.
    if url.get_backend_name() == "sqlite" and not (url.database and Path(url.database).is_file()):
        print(f"onestack ring: no onestack database at {url.database}: give the cloud's --data-dir "
              "(or its --db-url)", file=sys.stderr)
        return 2
    db = open_database(config)
    try:
        return _run(args, db, admin)
    except admin.RingAdminError as exc:
        print(f"onestack ring: {exc}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:  # no object-store tables, or older ones
        print(f"onestack ring: the database has no current object-store schema ({exc.orig}); "
              "`onestack admin db-upgrade` (or the cloud's start) brings it up to date", file=sys.stderr)
        return 2
    finally:
        db.engine.dispose()


def _run(args: argparse.Namespace, db: Any, admin: Any) -> int:
    command = args.ring_command
    if command in ("list", "show"):
        ring, views = db.run_sync(admin.describe, write=False)
        if getattr(args, "device", None):
            wanted = db.run_sync(lambda s: admin.find(s, args.device).id, write=False)
            views = [v for v in views if v.id == wanted]
        if args.format == "json":
            doc: Any = [_as_json(v) for v in views]
            if command == "show":
                doc = {"version": ring.version if ring else 0, "replicas": ring.replicas if ring else None,
                       "part_power": ring.part_power if ring else None, "devices": doc}
            print(json.dumps(doc, indent=2))
            return 0
        if command == "show":
            if ring is None:
                print("no ring yet: the cloud builds it at its first start")
            else:
                print(f"object ring version {ring.version}: {ring.partition_count} partitions, "
                      f"{ring.replicas} replicas, part power {ring.part_power}, {len(ring.devices)} devices")
        print(_table(views))
        return 0
    ring = db.run_sync(lambda s: admin.store.load_ring(s), write=False)
    if ring is None:
        raise admin.RingAdminError("no ring yet: start the cloud once (onestack up) so that it builds one")
    if command == "set-weight":
        row = db.run_sync(lambda s: _brief(admin.set_weight(s, args.device, args.weight, ring.replicas)))
        print(f"device {row}: weight {args.weight:g} (applied by the next rebalance)")
    elif command == "remove":
        row = db.run_sync(lambda s: _brief(admin.remove(s, args.device, ring.replicas)))
        print(f"device {row}: removed (out of the ring at the next rebalance; `add` brings it back)")
    elif command == "add":
        row = db.run_sync(lambda s: _brief(admin.add(s, args.device)))
        print(f"device {row}: added back (in the ring at the next rebalance)")
    else:
        from sqlalchemy.exc import IntegrityError

        try:
            done = db.run_sync(lambda s: admin.rebalance(s, ring.replicas, ring.part_power, ring.hash_path_suffix))
        except IntegrityError:  # a proxy wrote the same version meanwhile (an agent's new device): again
            done = db.run_sync(lambda s: admin.rebalance(s, ring.replicas, ring.part_power, ring.hash_path_suffix))
        share = 100.0 * done.moved / done.total if done.total else 0.0
        print(f"object ring version {done.ring.version}: {done.moved} of {done.total} partition replicas "
              f"reassigned ({share:.1f}%); the replicators move their data")
    return 0


def _brief(row: Any) -> str:
    return f"{row.id} ({row.host}/{row.device})"
