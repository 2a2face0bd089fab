from __future__ import annotations

from onestack.compute.scheduler import extra_specs_ops
from onestack.compute.scheduler.host_state import HostState
from onestack.compute.scheduler.request import RequestSpec

SCOPE = "aggregate_instance_extra_specs"


class AggregateInstanceExtraSpecsFilter:
    """Flavor extra specs matched against the metadata of the host's aggregates.

    Keys scoped ``aggregate_instance_extra_specs:`` and, as in Nova, unscoped keys are checked;
    a key passes when any of the host's aggregates has a value for it that matches.
    """

    run_filter_once_per_request = True

    def host_passes(self, host: HostState, spec: RequestSpec) -> bool:
        for key, requirement in spec.flavor.extra_specs.items():
            scope, sep, name = key.partition(":")
            if sep:
                if scope != SCOPE:
                    continue
                key = name
            values = host.aggregate_values(key)
            if not any(extra_specs_ops.match(v, requirement) for v in values):
                return False
        return True
