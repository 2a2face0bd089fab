from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec


class SameHostFilter:
    """With the ``same_host`` hint: hosts running at least one of the named instances."""

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        wanted = spec.hint("same_host")
        return not wanted or any(uuid in host.instances for uuid in wanted)
