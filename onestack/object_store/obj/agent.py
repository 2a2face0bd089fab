"""STUB — the replication helper replaces this: the object agent of a host (its devices' object
server, replicator, auditor, updater)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from onestack.core.bus import Bus
from onestack.core.config import Config


class ObjectAgent:
    def __init__(self, config: Config, host: str, root: Path, bus: Bus, local: Any) -> None:
        self.config, self.host, self.root, self.bus, self.local = config, host, root, bus, local

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def make_agent(config: Config, host: str, root: Path, bus: Bus, local: Any = None) -> ObjectAgent:
    return ObjectAgent(config, host, root, bus, local)
