from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class AllHostsFilter:
    """Passes every host (for testing, or to rely on placement alone)."""

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        return True
