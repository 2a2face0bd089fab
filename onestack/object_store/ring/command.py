"""``onestack ring``: the operator's view and changes of the object ring (swift-ring-builder's).

The ring lives in the cloud's database, so the command opens the database the cloud uses (the
data dir's SQLite by default, or ``--db-url``) and works whether the cloud runs or not: a running
cloud's proxies load a rebalanced ring within ``object_store.ring_check_interval`` and its agents
with their next device report. Replicas and part power are the current ring's.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from onestack.core.config import Config

HELP = ("show and change the object ring (as swift-ring-builder): list, show, set-weight, remove, add, "
        "rebalance, pretend-min-part-hours-passed")
DESCRIPTION = """\
The object ring in the cloud's database (the data dir's, or --db-url's).

  list                     every device: id, region/zone, host, address, device, weight,
                           partitions in the current ring, balance, state (-f json for scripts)
  show [DEVICE]            the ring's version, replicas, partitions, min_part_hours and what the
                           last rebalance moved, then the devices (or one, with its partitions):
                           partition replicas moved onto/off each in the newest version, and how
                           many of its partitions may not move yet
  set-weight DEVICE WEIGHT the device's weight from now on: it wins over what its agent reports
  set-weight DEVICE --clear
                           drop that weight: the device goes back to its reported weight
  remove DEVICE            take the device out of the ring; it stays out, even when its agent
                           reports it again, until `add DEVICE`
  add DEVICE               bring back a removed device
  rebalance                build the ring that applies the changes; the replicators then move
                           the data. A partition moves at most one replica per rebalance, and none
                           within object_store.min_part_hours of its last move, except replicas on
                           removed or zero-weight devices. When nothing can move, nothing is saved
                           (exit 1, as swift-ring-builder)
  pretend-min-part-hours-passed
                           let every partition move at the next rebalance (after a failure that
                           cannot wait)

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
    p = ring_sub.add_parser("set-weight", help="set a device's weight (wins over its agent's reports), or --clear it")
    common(p)
    p.add_argument("device", metavar="DEVICE")
    p.add_argument("weight", metavar="WEIGHT", type=float, nargs="?")
    p.add_argument("--clear", action="store_true", help="back to the weight the device's agent reports")
    p = ring_sub.add_parser("remove", help="take a device out of the ring until it is added back")
    common(p)
    p.add_argument("device", metavar="DEVICE")
    p = ring_sub.add_parser("add", help="bring back a removed device")
    common(p)
    p.add_argument("device", metavar="DEVICE")
    p = ring_sub.add_parser("rebalance", help="build the ring that applies the recorded changes")
    common(p)
    p = ring_sub.add_parser("pretend-min-part-hours-passed", help="let every partition move at the next rebalance")
    common(p)


def _table(views: list[Any], detail: bool) -> str:
    head = ("id", "region", "zone", "host", "address", "device", "weight", "partitions", "balance",
            *(("moved", "held") if detail else ()), "state")
    rows = [(str(v.id), str(v.region), str(v.zone), v.host, f"{v.ip}:{v.port}" if v.port else "in-process",
             v.device, f"{v.weight:g}" + (" (operator)" if v.operator_weight is not None else ""),
             str(v.partitions), f"{v.balance:.2f}",
             *((f"+{v.moved_in}/-{v.moved_out}", str(v.frozen)) if detail else ()), v.state) for v in views]
    widths = [max(len(r[i]) for r in [head, *rows]) for i in range(len(head))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in [head, *rows])


def _as_json(v: Any) -> dict[str, Any]:
    return {"id": v.id, "region": v.region, "zone": v.zone, "host": v.host, "ip": v.ip, "port": v.port,
            "device": v.device, "weight": v.weight, "reported_weight": v.reported_weight,
            "operator_weight": v.operator_weight, "partitions": v.partitions, "in_ring": v.in_ring,
            "removed": v.removed, "balance": round(v.balance, 2), "moved_in": v.moved_in, "moved_out": v.moved_out,
            "frozen": v.frozen}


def _duration(seconds: float) -> str:
    """H:MM:SS, as swift-ring-builder prints a timedelta."""
    s = math.ceil(seconds)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}"


def _ranges(parts: list[int]) -> str:
    """0-3, 5, 9-10: a device's partitions compactly."""
    runs: list[list[int]] = []
    for p in sorted(parts):
        if runs and runs[-1][1] == p - 1:
            runs[-1][1] = p
        else:
            runs.append([p, p])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs) or "none"


def _min_part_hours_line(state: Any) -> str:
    hours = f"{state.min_part_hours:g}"
    if state.seconds_left <= 0:
        return f"min_part_hours {hours}: every partition may move at the next rebalance"
    return (f"min_part_hours {hours}: {state.frozen} partitions moved within it may not move again for balance "
            f"for {_duration(state.seconds_left)}")


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
        return _run(args, db, admin, config.object_store.min_part_hours)
    except admin.RingAdminError as exc:
        print(f"onestack ring: {exc}", file=sys.stderr)
        return 2
    except (OperationalError, ProgrammingError) as exc:  # no object-store tables, or older ones
        print(f"onestack ring: the database has no current object-store schema ({exc.orig}); "
              "`onestack admin db-upgrade` (or the cloud's start) brings it up to date", file=sys.stderr)
        return 2
    finally:
        db.engine.dispose()


def _run(args: argparse.Namespace, db: Any, admin: Any, min_part_hours: float) -> int:
    command = args.ring_command
    if command in ("list", "show"):
        state = db.run_sync(lambda s: admin.describe(s, min_part_hours), write=False)
        ring, views = state.ring, state.devices
        if getattr(args, "device", None):
            wanted = db.run_sync(lambda s: admin.find(s, args.device).id, write=False)
            views = [v for v in views if v.id == wanted]
        if args.format == "json":
            doc: Any = [_as_json(v) for v in views]
            if command == "show":
                doc = {"version": ring.version if ring else 0, "replicas": ring.replicas if ring else None,
                       "part_power": ring.part_power if ring else None, "min_part_hours": state.min_part_hours,
                       "seconds_until_movable": math.ceil(state.seconds_left), "frozen_partitions": state.frozen,
                       "moved_partitions": state.moved, "devices": doc}
            print(json.dumps(doc, indent=2))
            return 0
        if command == "show":
            if ring is None:
                print("no ring yet: the cloud builds it at its first start")
            else:
                worst = max((v.balance for v in state.devices if v.in_ring), default=0.0)
                print(f"object ring version {ring.version}: {ring.partition_count} partitions, "
                      f"{ring.replicas} replicas, part power {ring.part_power}, {len(ring.devices)} devices, "
                      f"balance {worst:.2f}")
                print(_min_part_hours_line(state))
                print(f"the newest version moved {state.moved} partitions (moved: partition replicas it put on / "
                      "took off each device; held: its partitions that may not move yet)")
        print(_table(views, detail=command == "show"))
        if command == "show" and ring is not None and args.device and views:
            dev_id = views[0].id
            held = [p for p in range(ring.partition_count) if any(row[p] == dev_id for row in ring.replica2part2dev)]
            print(f"partitions: {_ranges(held)}")
        return 0
    ring = db.run_sync(lambda s: admin.store.load_ring(s), write=False)
    if ring is None:
        raise admin.RingAdminError("no ring yet: start the cloud once (onestack up) so that it builds one")
    if command == "set-weight":
        if args.clear == (args.weight is not None):
            raise admin.RingAdminError("set-weight takes a WEIGHT or --clear (one of them)")
        if args.clear:
            row, weight = db.run_sync(lambda s: _cleared(admin.clear_weight(s, args.device, ring.replicas)))
            print(f"device {row}: operator weight cleared, back to its reported weight {weight:g} "
                  "(applied by the next rebalance)")
        else:
            row = db.run_sync(lambda s: _brief(admin.set_weight(s, args.device, args.weight, ring.replicas)))
            print(f"device {row}: weight {args.weight:g} (applied by the next rebalance)")
    elif command == "remove":
        row = db.run_sync(lambda s: _brief(admin.remove(s, args.device, ring.replicas)))
        print(f"device {row}: removed (out of the ring at the next rebalance; `add` brings it back)")
    elif command == "add":
        row = db.run_sync(lambda s: _brief(admin.add(s, args.device)))
        print(f"device {row}: added back (in the ring at the next rebalance)")
    elif command == "pretend-min-part-hours-passed":
        db.run_sync(admin.pretend_min_part_hours_passed)
        print("every partition may move at the next rebalance")
    else:
        return _rebalance(db, admin, ring, min_part_hours)
    return 0


def _rebalance(db: Any, admin: Any, ring: Any, min_part_hours: float) -> int:
    from sqlalchemy.exc import IntegrityError

    def run(s: Any) -> Any:
        return admin.rebalance(s, ring.replicas, ring.part_power, ring.hash_path_suffix, min_part_hours)

    try:
        done = db.run_sync(run)
    except IntegrityError:  # a proxy wrote the same version meanwhile (an agent's new device): again
        done = db.run_sync(run)
    if not done.saved:  # swift-ring-builder's words and exit status (EXIT_WARNING)
        print("No partitions could be reassigned.")
        if done.frozen and done.seconds_left > 0:
            print(f"The time between rebalances must be at least min_part_hours: {min_part_hours:g} hours "
                  f"({_duration(done.seconds_left)} remaining)")
        else:
            print("There is no need to do so at this time")
        return 1
    share = 100.0 * done.moved / done.total if done.total else 0.0
    print(f"object ring version {done.ring.version}: {done.moved} of {done.total} partition replicas "
          f"reassigned ({share:.1f}%); the replicators move their data. Balance is now {done.balance:.2f}")
    if done.balance > 5 and done.seconds_left > 0:  # swift-ring-builder's advice, at its threshold
        print(f"NOTE: Balance of {done.balance:.2f}: let the replicators move this ring's data, then rebalance "
              f"again once min_part_hours ({min_part_hours:g}) have passed, in {_duration(done.seconds_left)}")
    return 0


def _brief(row: Any) -> str:
    return f"{row.id} ({row.host}/{row.device})"


def _cleared(row: Any) -> tuple[str, float]:
    return _brief(row), row.weight
