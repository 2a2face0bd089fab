from __future__ import annotations

import logging
import math

from onestack.volume.scheduler.pool_state import INFINITE, UNKNOWN, PoolState, Request

log = logging.getLogger("onestack.volume.scheduler")


class CapacityFilter:
    """Cinder's capacity check.

    Thin provisioning (the pool supports it and the type does not ask ``provisioning:type``
    ``thick``): the provisioned capacity plus the request may not exceed total ×
    max_over_subscription_ratio, and the free space (less the reserved percentage of the
    total) × the ratio must hold the request. Otherwise the free space less the reserved part
    must hold it. A backend that reports free capacity ``infinite``/``unknown`` passes; one that
    reports only its total so passes while nothing is reserved.
    """

    def backend_passes(self, pool: PoolState, request: Request) -> bool:
        if request.exists_on and request.exists_on == pool.backend_host:
            return True  # a retype in place needs no new space
        wanted = request.size
        free_space, total_space = pool.free_capacity_gb, pool.total_capacity_gb
        reserved = float(pool.reserved_percentage) / 100
        if free_space in (INFINITE, UNKNOWN):
            return True
        if total_space in (INFINITE, UNKNOWN):
            return reserved == 0
        total = float(total_space)
        if total <= 0:
            log.warning("pool %s: total capacity %.2f, nothing fits", pool.name, total)
            return False
        free = float(free_space) - math.floor(total * reserved)
        ratio = pool.max_over_subscription_ratio
        if request.thin and pool.thin_provisioning_support:
            if ratio < 1:
                log.warning("pool %s: max_over_subscription_ratio %.2f is below 1.0", pool.name, ratio)
                return False
            provisioned_ratio = (pool.provisioned_capacity_gb + wanted) / total
            if provisioned_ratio > ratio:
                log.debug("pool %s: provisioned ratio %.2f would exceed %.2f", pool.name, provisioned_ratio, ratio)
                return False
            return free * ratio >= wanted
        return free >= wanted
