"""The weigher interface and Nova's weighing arithmetic.

Each weigher gives every filtered host a raw number. Per weigher, the raw numbers are scaled
to 0..1 across the hosts ((w - min) / (max - min); all equal -> all 0), multiplied by the
weigher's multiplier and summed; the host with the largest sum wins. A multiplier comes from
configuration, and an aggregate the host is in may override it with metadata of the same
name (``ram_weight_multiplier=-1.0``); with several such aggregates the smallest value wins.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar, Protocol, runtime_checkable

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


@runtime_checkable
class HostWeigher(Protocol):
    # The [scheduler] key (and aggregate metadata key) holding this weigher's multiplier.
    config_key: ClassVar[str]
    # Fixed ends of the scale; None means the smallest / largest raw weight seen.
    minval: ClassVar[float | None]
    maxval: ClassVar[float | None]
    multiplier: float

    def weigh(self, host: HostState, spec: RequestSpec) -> float:
        """The raw weight of the host for this request; larger is preferred (× multiplier)."""
        ...


def multiplier_for(weigher: HostWeigher, host: HostState) -> float:
    """The weigher's multiplier, unless an aggregate of the host overrides it."""
    if not host.aggregates:
        return weigher.multiplier
    values: list[float] = []
    for raw in host.aggregate_values(weigher.config_key):
        try:
            values.append(float(raw))
        except ValueError:
            continue  # bad metadata is ignored, as Nova does, rather than failing the request
    return min(values) if values else weigher.multiplier


def normalize(raw: Sequence[float], minval: float | None = None,
              maxval: float | None = None) -> list[float]:
    """Scale to 0..1 between minval and maxval (the list's own ends when not given)."""
    if not raw:
        return []
    low = float(min(raw) if minval is None else minval)
    high = float(max(raw) if maxval is None else maxval)
    if high == low:
        return [0.0] * len(raw)
    span = high - low
    return [(w - low) / span for w in raw]


def total_weights(hosts: Sequence[HostState], spec: RequestSpec,
                  weighers: Sequence[HostWeigher]) -> list[float]:
    """Σ multiplier × normalised weight, per host, in the order of ``hosts``."""
    totals = [0.0] * len(hosts)
    # Only hosts in an aggregate that names one of these multipliers need the per-host lookup;
    # deciding that once keeps thousands of hosts cheap.
    keys = {w.config_key for w in weighers}
    special = [i for i, h in enumerate(hosts)
               if any(not keys.isdisjoint(a.metadata) for a in h.aggregates)]
    for weigher in weighers:
        if weigher.multiplier == 0 and not special:
            continue  # contributes nothing
        scaled = normalize([weigher.weigh(h, spec) for h in hosts], weigher.minval, weigher.maxval)
        m = weigher.multiplier
        if m:
            for i, value in enumerate(scaled):
                totals[i] += m * value
        for i in special:
            totals[i] += (multiplier_for(weigher, hosts[i]) - m) * scaled[i]
    return totals
