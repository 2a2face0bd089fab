"""The ring: an object's path hashes to a partition; each partition has ``replicas`` primary
devices (in distinct zones when there are enough) and a deterministic list of handoffs.

As Swift's: ``hash_path`` is the md5 of ``/account/container/object`` plus a secret suffix, the
partition is its top ``part_power`` bits, and the hash names the object's directory on a device.
The ring is plain data (``Ring.from_dict`` / ``to_dict``), made by ``builder.py``, stored in the
database by the proxy and handed to the object agents over the bus.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(frozen=True)
class Device:
    id: int
    host: str
    device: str
    zone: int = 1
    region: int = 1
    ip: str = "127.0.0.1"
    port: int = 0  # 0: served only in-process by the host's agent
    weight: float = 100.0


def hash_path(suffix: str, account: str, container: str | None = None, obj: str | None = None) -> str:
    """Swift's hash_path: the hex md5 naming an account, a container or an object."""
    parts = [account] + ([container] if container is not None else []) + ([obj] if obj is not None else [])
    return hashlib.md5(("/" + "/".join(parts) + suffix).encode("utf-8"), usedforsecurity=False).hexdigest()


@dataclass
class Ring:
    part_power: int
    replicas: int
    devices: list[Device]
    # replica2part2dev[r][p]: the device id of partition p's r-th replica.
    replica2part2dev: list[list[int]]
    hash_path_suffix: str
    version: int = 0
    _by_id: dict[int, Device] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._by_id = {d.id: d for d in self.devices}

    @property
    def partition_count(self) -> int:
        return 1 << self.part_power

    def hash(self, account: str, container: str | None = None, obj: str | None = None) -> str:
        return hash_path(self.hash_path_suffix, account, container, obj)

    def partition_of_hash(self, hex_hash: str) -> int:
        return int(struct.unpack_from(">I", bytes.fromhex(hex_hash))[0] >> (32 - self.part_power))

    def get_part(self, account: str, container: str | None = None, obj: str | None = None) -> int:
        return self.partition_of_hash(self.hash(account, container, obj))

    def get_part_nodes(self, part: int) -> list[Device]:
        """The primaries of a partition, one per replica, in replica order."""
        return [self._by_id[row[part]] for row in self.replica2part2dev]

    def get_nodes(self, account: str, container: str | None = None, obj: str | None = None) -> tuple[int, list[Device]]:
        part = self.get_part(account, container, obj)
        return part, self.get_part_nodes(part)

    def get_more_nodes(self, part: int) -> Iterator[Device]:
        """Handoffs for a partition: every other device, those in unused zones first, in an order
        that depends on the partition only (so every proxy and agent picks the same ones)."""
        primaries = self.get_part_nodes(part)
        used_ids = {d.id for d in primaries}
        used_zones = {(d.region, d.zone) for d in primaries}
        others = [d for d in self.devices if d.id not in used_ids]
        key = (lambda d: hashlib.md5(f"{part}-{d.id}".encode(), usedforsecurity=False).hexdigest())
        others.sort(key=key)
        yield from (d for d in others if (d.region, d.zone) not in used_zones)
        yield from (d for d in others if (d.region, d.zone) in used_zones)

    def device(self, device_id: int) -> Device:
        return self._by_id[device_id]

    def devices_of(self, host: str) -> list[Device]:
        return [d for d in self.devices if d.host == host]

    def to_dict(self) -> dict[str, Any]:
        return {"part_power": self.part_power, "replicas": self.replicas,
                "devices": [asdict(d) for d in self.devices], "replica2part2dev": self.replica2part2dev,
                "hash_path_suffix": self.hash_path_suffix, "version": self.version}

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> Ring:
        return cls(part_power=int(body["part_power"]), replicas=int(body["replicas"]),
                   devices=[Device(**d) for d in body["devices"]],
                   replica2part2dev=[list(map(int, row)) for row in body["replica2part2dev"]],
                   hash_path_suffix=str(body["hash_path_suffix"]), version=int(body.get("version", 0)))
