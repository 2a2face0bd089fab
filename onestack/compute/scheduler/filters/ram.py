from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class RamFilter:
    """Fallback check of free RAM (allocation ratio honoured); placement normally does this."""

    run_filter_once_per_request = False  # earlier instances of the request consume RAM

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        return host.free_ram_mb >= spec.flavor.memory_mb
