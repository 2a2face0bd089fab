"""What the scheduler knows of a pool, and of the request it places (Cinder's backend state and
filter properties), as plain values the filters and weighers read."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.rpcapi import RequestSpec
from onestack.volume.service.specs import backend_of

# A backend that cannot tell its capacity reports one of these instead of a number (Cinder).
INFINITE, UNKNOWN = "infinite", "unknown"
Capacity = float | str


@dataclass
class PoolState:
    name: str  # host@backend#pool
    backend_host: str = ""  # host@backend
    agent_host: str = ""
    availability_zone: str = "nova"
    total_capacity_gb: Capacity = 0.0
    free_capacity_gb: Capacity = 0.0
    allocated_capacity_gb: float = 0.0
    provisioned_capacity_gb: float = 0.0
    reserved_percentage: int = 0
    max_over_subscription_ratio: float = 20.0
    thin_provisioning_support: bool = True
    thick_provisioning_support: bool = False
    capabilities: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_row(cls, row: models.Pool) -> PoolState:
        caps = dict(row.capabilities or {})
        return cls(
            name=row.name, backend_host=row.backend_host, agent_host=row.agent_host,
            availability_zone=row.availability_zone,
            total_capacity_gb=_capacity(caps.get("total_capacity_gb"), row.total_capacity_gb),
            free_capacity_gb=_capacity(caps.get("free_capacity_gb"), row.free_capacity_gb),
            allocated_capacity_gb=row.allocated_capacity_gb or 0.0,
            provisioned_capacity_gb=row.provisioned_capacity_gb or 0.0,
            reserved_percentage=row.reserved_percentage, max_over_subscription_ratio=row.max_over_subscription_ratio,
            thin_provisioning_support=row.thin_provisioning_support,
            thick_provisioning_support=row.thick_provisioning_support, capabilities=caps)


def _capacity(reported: Any, column: float) -> Capacity:
    return reported if reported in (INFINITE, UNKNOWN) else float(column)


@dataclass(frozen=True)
class Request:
    """One placement: a new volume, or a volume to retype (``exists_on`` its current backend)."""

    size: int
    extra_specs: Mapping[str, str] = field(default_factory=dict)
    availability_zone: str | None = None
    # Only pools of this backend (``host@backend``): a clone stays beside its source.
    same_backend_as: str | None = None
    # The backend the volume already lives on: no new space is needed there (retype).
    exists_on: str | None = None

    @classmethod
    def from_spec(cls, spec: RequestSpec) -> Request:
        return cls(size=int(spec["size"]), extra_specs=dict(spec.get("extra_specs") or {}),
                   availability_zone=spec.get("availability_zone"),
                   same_backend_as=backend_of(spec.get("same_backend_as")))

    @property
    def thin(self) -> bool:
        """Cinder's ``provisioning:type``: ``thick`` asks for real free space."""
        return self.extra_specs.get("provisioning:type") != "thick"


_SVC = models.VolumeService
# Built once (the scheduler runs it on every create): only the cutoff changes.
_LIVE_POOLS = (select(models.Pool)
               .join(_SVC, (_SVC.host == models.Pool.backend_host) & (_SVC.binary == "cinder-volume"))
               .where(_SVC.disabled.is_(False), _SVC.updated_at.is_not(None), _SVC.updated_at >= bindparam("cutoff"))
               .order_by(models.Pool.name))


def live_pools(s: Session, service_down_time: float, now: datetime) -> list[PoolState]:
    """The pools of ``cinder-volume`` services that are up (heard from within
    ``service_down_time``) and not disabled, by name."""
    cutoff = now - timedelta(seconds=service_down_time)
    return [PoolState.from_row(r) for r in s.scalars(_LIVE_POOLS, {"cutoff": cutoff})]
