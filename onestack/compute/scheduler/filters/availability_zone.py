from __future__ import annotations

from onestack.compute.scheduler.host_state import DEFAULT_AVAILABILITY_ZONE, HostState
from onestack.compute.scheduler.request import RequestSpec


class AvailabilityZoneFilter:
    """Hosts in the requested availability zone; no zone requested passes every host.

    A host's zone comes from the aggregates it is in; a host in none is in the default zone.
    """

    run_filter_once_per_request = True

    def __init__(self, default_availability_zone: str = DEFAULT_AVAILABILITY_ZONE) -> None:
        self.default_availability_zone = default_availability_zone

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        if not spec.availability_zone:
            return True
        return spec.availability_zone in host.zones(self.default_availability_zone)
