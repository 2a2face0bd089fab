from __future__ import annotations

from typing import Any

from onestack.volume.scheduler import extra_specs_ops
from onestack.volume.scheduler.pool_state import PoolState, Request


class CapabilitiesFilter:
    """The pool's reported capabilities satisfy the volume type's extra specs (Cinder's rules).

    ``capabilities:x`` and a bare ``x`` both name the capability ``x`` (``a:b`` nested: the
    value ``b`` of the dict ``a``); any other scoped key (``provisioning:type``, ``RESKEY:...``,
    vendor keys) is not the pool's business and is ignored. A capability the pool does not
    report fails the spec. A list-valued capability passes when any element matches.
    """

    def backend_passes(self, pool: PoolState, request: Request) -> bool:
        caps = self._capabilities(pool)
        for key, requirement in request.extra_specs.items():
            scope = key.split(":")
            if len(scope) > 1 and scope[0] != "capabilities":
                continue
            if scope[0] == "capabilities":
                scope = scope[1:]
            value: Any = caps
            for part in scope:
                if not isinstance(value, dict) or part not in value:
                    return False
                value = value[part]
            values = value if isinstance(value, list) else [value]
            if not any(extra_specs_ops.match(v, requirement) for v in values):
                return False
        return True

    @staticmethod
    def _capabilities(pool: PoolState) -> dict[str, Any]:
        # What Cinder's backend state exposes to the filter besides the free-form capabilities.
        caps: dict[str, Any] = {
            "total_capacity_gb": pool.total_capacity_gb, "free_capacity_gb": pool.free_capacity_gb,
            "allocated_capacity_gb": pool.allocated_capacity_gb, "reserved_percentage": pool.reserved_percentage,
            "max_over_subscription_ratio": pool.max_over_subscription_ratio,
            "thin_provisioning_support": pool.thin_provisioning_support,
            "thick_provisioning_support": pool.thick_provisioning_support,
            "pool_name": pool.name.split("#", 1)[-1],
        }
        caps.update(pool.capabilities)
        return caps
