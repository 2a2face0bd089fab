"""Default placement policy: placement is an admin and service API (rule names as in placement)."""

from __future__ import annotations

_RULES = (
    "placement:resource_providers:list", "placement:resource_providers:create",
    "placement:resource_providers:show", "placement:resource_providers:update",
    "placement:resource_providers:delete",
    "placement:resource_providers:inventories:list", "placement:resource_providers:inventories:create",
    "placement:resource_providers:inventories:show", "placement:resource_providers:inventories:update",
    "placement:resource_providers:inventories:delete",
    "placement:resource_providers:aggregates:list", "placement:resource_providers:aggregates:update",
    "placement:resource_providers:usages", "placement:usages",
    "placement:resource_providers:traits:list", "placement:resource_providers:traits:update",
    "placement:resource_providers:traits:delete",
    "placement:resource_providers:allocations:list",
    "placement:allocations:list", "placement:allocations:manage", "placement:allocations:update",
    "placement:allocations:delete",
    "placement:allocation_candidates:list",
    "placement:resource_classes:list", "placement:resource_classes:create", "placement:resource_classes:show",
    "placement:resource_classes:update", "placement:resource_classes:delete",
    "placement:traits:list", "placement:traits:show", "placement:traits:update", "placement:traits:delete",
    "placement:reshaper:reshape",
)

DEFAULT_RULES: dict[str, str] = {
    "admin_api": "role:admin",
    "service_api": "role:service",
    "admin_or_service_api": "rule:admin_api or rule:service_api",
    "default": "rule:admin_or_service_api",
    **{name: "rule:admin_or_service_api" for name in _RULES},
}
