from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class DiskFilter:
    """Fallback check of free local disk for root + ephemeral + swap; placement normally does this."""

    run_filter_once_per_request = False

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.free_disk_gb >= spec.flavor.disk_gb
