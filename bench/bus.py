"""Message bus: call round trip and cast delivery rate, memory:// and rabbit:// (local broker).

    python bench/bus.py --n 2000                         # makes its own RabbitMQ vhost (rabbitmqctl)
    python bench/bus.py --rabbit rabbit://u:p@host:5672/vhost --n 2000
    python bench/bus.py --send-wait --n 20000           # what the AMQP send's readiness wait costs

Both ends (caller and consumer) run in this one process on one event loop, as two transports
(for rabbit:// two connections), so the client's and the server's CPU are both in the numbers.
Columns: call round trip with one caller (p50/p99 over --n sequential calls), calls/s with
--concurrency callers, and casts/s delivered (from the first cast sent to the last one handled)
with one sender and with --concurrency senders, each awaiting its casts one by one — for
rabbit:// a cast returns when the broker confirmed it (publisher confirms).
Results: docs/performance.md (message bus section).
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from onestack.core.bus import Message, transport_from_url


@contextmanager
def own_vhost() -> Iterator[str]:
    vhost = f"onestack-bench-{uuid.uuid4().hex[:8]}"
    subprocess.run(["rabbitmqctl", "-q", "add_vhost", vhost], check=True)
    subprocess.run(["rabbitmqctl", "-q", "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*"],
                   check=True)
    try:
        yield f"rabbit://guest:guest@127.0.0.1:5672/{vhost}"
    finally:
        subprocess.run(["rabbitmqctl", "-q", "delete_vhost", vhost], check=True)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def measure(url: str, n: int, concurrency: int) -> dict[str, float]:
    server, client = transport_from_url(url), transport_from_url(url)
    if url.startswith("memory"):
        client = server  # one process, one in-memory bus
    n -= n % concurrency  # every row sends exactly n
    delivered = 0
    all_in = asyncio.Event()

    async def dispatch(message: Message) -> Any:
        nonlocal delivered
        if message.method == "note":
            delivered += 1
            if delivered == n:
                all_in.set()
            return None
        return {"echo": message.args}

    topic = f"bench.{uuid.uuid4().hex[:8]}"
    try:
        await server.serve(topic, dispatch)
        args = {"instance": str(uuid.uuid4()), "host": "compute-1", "flavor": {"vcpus": 1, "ram": 512}}
        for _ in range(50):  # warm up: connections, declarations
            await client.call(topic, Message("echo", args), 10)
        times = []
        for _ in range(n):
            started = time.perf_counter()
            await client.call(topic, Message("echo", args), 10)
            times.append(time.perf_counter() - started)

        async def caller(count: int) -> None:
            for _ in range(count):
                await client.call(topic, Message("echo", args), 10)

        started = time.perf_counter()
        await asyncio.gather(*(caller(n // concurrency) for _ in range(concurrency)))
        calls_per_s = n / (time.perf_counter() - started)

        async def caster(count: int) -> None:
            for i in range(count):
                await client.cast(topic, Message("note", {"i": i, **args}))

        rates = []
        for senders in (1, concurrency):
            delivered = 0
            all_in.clear()
            started = time.perf_counter()
            await asyncio.gather(*(caster(n // senders) for _ in range(senders)))
            await asyncio.wait_for(all_in.wait(), 300)
            rates.append(n / (time.perf_counter() - started))
    finally:
        await client.close()
        await server.close()
    return {"p50": pct(times, 0.5) * 1e6, "p99": pct(times, 0.99) * 1e6,
            "calls/s": calls_per_s, "casts/s": rates[0], "casts/s many": rates[1]}


async def send_wait(url: str, n: int) -> tuple[float, float]:
    """µs per send of ``core/amqp.py``'s ``_send`` with a publish that does nothing (what is
    left: its wait for a ready channel, under a timer) and per bare wait for a ready channel:
    the difference is what the timer costs each send."""
    from aio_pika.abc import AbstractChannel

    from onestack.core.amqp import SEND_PATIENCE, AmqpTransport

    transport = AmqpTransport(url)
    channel = await transport._ready()

    async def publish(_channel: AbstractChannel) -> None:
        await asyncio.sleep(0)  # a real publish yields to the loop at least once

    try:
        started = time.perf_counter()
        for _ in range(n):
            await transport._send(publish, SEND_PATIENCE)
        timed = (time.perf_counter() - started) / n
        started = time.perf_counter()
        for _ in range(n):
            await channel.ready()
            await publish(channel)
        bare = (time.perf_counter() - started) / n
    finally:
        await transport.close()
    return timed * 1e6, bare * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="calls and casts per row")
    parser.add_argument("--concurrency", type=int, default=16, help="callers for the calls/s row")
    parser.add_argument("--rabbit", help="a rabbit:// URL to use instead of a vhost of its own")
    parser.add_argument("--send-wait", action="store_true",
                        help="instead: what the AMQP transport's wait for a ready channel costs a send")
    args = parser.parse_args()
    if args.send_wait:
        def wait_rows(url: str) -> None:
            for _ in range(3):
                timed, bare = asyncio.run(send_wait(url, args.n))
                print(f"_send, no-op publish {timed:.1f} µs; bare ready wait {bare:.1f} µs; "
                      f"the timer {timed - bare:.1f} µs a send")

        if args.rabbit:
            wait_rows(args.rabbit)
        else:
            with own_vhost() as url:
                wait_rows(url)
        return
    many = f"({args.concurrency})"
    print(f"{'transport':>9} {'n':>6} {'call p50 µs':>12} {'call p99 µs':>12} {'calls/s ' + many:>13} "
          f"{'casts/s (1)':>12} {'casts/s ' + many:>13}")

    def row(name: str, url: str) -> None:
        r = asyncio.run(measure(url, args.n, args.concurrency))
        print(f"{name:>9} {args.n:>6} {r['p50']:>12.0f} {r['p99']:>12.0f} {r['calls/s']:>13.0f} "
              f"{r['casts/s']:>12.0f} {r['casts/s many']:>13.0f}")

    row("memory", "memory://")
    if args.rabbit:
        row("rabbit", args.rabbit)
    else:
        with own_vhost() as url:
            row("rabbit", url)


if __name__ == "__main__":
    main()
