"""A host's agent as a process of a test's own, on a cloud of the test module's own bus.

``bus_cloud`` starts a cloud on a RabbitMQ vhost of its own (an agent in another process needs a
real bus); ``AgentProcess`` runs ``onestack agent KIND --host HOST`` beside it, as another host
would: its own data dir, the cloud's bus and API URL, no database credentials. Used by the network,
volume and object agent tests.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tests.functional.cloud import RunningCloud, make_cloud, wait_until
from tests.functional.multiprocess import Proc
from tests.services import rabbit_vhost


@contextmanager
def bus_cloud(tmp: Path, env: dict[str, str]) -> Iterator[RunningCloud]:
    """A started cloud with ``env`` on a RabbitMQ vhost of its own; closed (its database dropped) at the end."""
    with rabbit_vhost() as url:
        running = make_cloud(tmp, {**env, "ONESTACK_MESSAGING__TRANSPORT_URL": url})
        running.start()
        try:
            yield running
        finally:
            running.close()


class AgentProcess:
    """``onestack agent KIND --host HOST --api-url <cloud> --data-dir DATA_DIR [ARGS]`` as a
    subprocess: the cloud's environment without its ``ONESTACK_DATABASE*`` settings, plus ``env``
    (settings of the agent's own, such as its zone or backends); its log beside ``data_dir``."""

    def __init__(self, cloud: RunningCloud, kind: str, host: str, data_dir: Path, *,
                 args: Sequence[str] = (), env: dict[str, str] | None = None) -> None:
        self.cloud, self.kind, self.host, self.data_dir = cloud, kind, host, data_dir
        full_env = {k: v for k, v in cloud.env.items() if not k.startswith("ONESTACK_DATABASE")} | (env or {})
        cmd = [sys.executable, "-m", "onestack", "agent", kind, "--host", host, "--api-url", cloud.base_url,
               "--data-dir", str(data_dir), *args]
        self.proc = Proc(f"{kind} agent {host}", cmd, data_dir.parent / f"{kind}-agent-{host}.log", full_env)

    def start(self) -> None:
        self.proc.start()

    def wait_ready(self, ready: Callable[[], object], what: str, timeout: float = 60) -> None:
        """Poll ``ready`` until true; an agent that exited meanwhile is named in the timeout's message."""
        def check() -> object:
            self.proc.check()
            return ready()

        wait_until(check, timeout=timeout, what=what)

    def kill(self) -> None:
        """SIGKILL: gone without a word (no clean shutdown, no last report)."""
        assert self.proc.popen is not None, "not running"
        self.proc.stop(signal.SIGKILL)

    def pause(self) -> None:
        """SIGSTOP: alive to the kernel (connections queue), never answers."""
        assert self.proc.popen is not None, "not running"
        os.kill(self.proc.popen.pid, signal.SIGSTOP)

    def resume(self) -> None:
        if self.proc.alive:
            assert self.proc.popen is not None
            os.kill(self.proc.popen.pid, signal.SIGCONT)

    def stop(self) -> None:
        """SIGTERM (a paused process resumed first: it would not act on it); nothing if not running."""
        self.resume()
        self.proc.stop()

    @contextmanager
    def running(self, ready: Callable[[], object] | None = None, what: str = "",
                timeout: float = 60) -> Iterator[AgentProcess]:
        """Started (and ``ready``, when given) for the block; stopped after it, however it ends."""
        self.start()
        try:
            if ready is not None:
                self.wait_ready(ready, what or f"{self.kind} agent {self.host} ready", timeout)
            yield self
        finally:
            self.stop()
