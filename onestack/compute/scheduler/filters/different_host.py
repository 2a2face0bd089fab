from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class DifferentHostFilter:
    """With the ``different_host`` hint: hosts running none of the named instances."""

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        avoid = spec.hint("different_host")
        return not any(uuid in host.instances for uuid in avoid)
