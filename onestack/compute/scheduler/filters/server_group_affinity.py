from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import AFFINITY, RequestSpec


class ServerGroupAffinityFilter:
    """For an ``affinity`` group: once a member is placed, only the member's host passes."""

    run_filter_once_per_request = False  # the first instance placed pins the others

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        group = spec.instance_group
        if group is None or group.policy != AFFINITY:
            return True
        return not group.hosts or host.host in group.hosts
