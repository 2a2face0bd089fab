from __future__ import annotations

from onestack.volume.scheduler.pool_state import PoolState, Request

# A volume type may restrict its volumes to some zones (Cinder's extra spec, comma-separated).
ZONES_SPEC = "RESKEY:availability_zones"


class AvailabilityZoneFilter:
    """The pool's service is in the requested zone, and in one of the type's zones if it names any."""

    def backend_passes(self, pool: PoolState, request: Request) -> bool:
        if request.availability_zone and pool.availability_zone != request.availability_zone:
            return False
        zones = request.extra_specs.get(ZONES_SPEC)
        if zones:
            return pool.availability_zone in {z.strip() for z in zones.split(",") if z.strip()}
        return True
