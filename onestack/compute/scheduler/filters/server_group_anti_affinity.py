from __future__ import annotations

from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import ANTI_AFFINITY, RequestSpec


class ServerGroupAntiAffinityFilter:
    """For an ``anti-affinity`` group: hosts with fewer than ``max_server_per_host`` members."""

    run_filter_once_per_request = False  # each placed instance changes the counts

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        group = spec.instance_group
        if group is None or group.policy != ANTI_AFFINITY:
            return True
        return host.group_members_here(group.uuid, group.members) < group.max_server_per_host
