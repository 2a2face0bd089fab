"""Default compute policy, in OpenStack's rule language (Nova's personas and rule names)."""

from __future__ import annotations

_ADMIN = "rule:context_is_admin"
_MEMBER_OR_ADMIN = "rule:project_member_or_admin"
_READER_OR_ADMIN = "rule:project_reader_or_admin"
_ANYONE = "@"
# Key pairs belong to users, not projects.
_OWNER_OR_ADMIN = "(rule:context_is_admin) or user_id:%(user_id)s"

DEFAULT_RULES: dict[str, str] = {
    "default": "rule:admin_api",
    "context_is_admin": "role:admin",
    "admin_api": "role:admin",
    "project_member_api": "role:member and project_id:%(project_id)s",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
    # Flavors: anyone may read; admins manage.
    "os_compute_api:os-flavor-manage:create": _ADMIN,
    "os_compute_api:os-flavor-manage:update": _ADMIN,
    "os_compute_api:os-flavor-manage:delete": _ADMIN,
    "os_compute_api:os-flavor-extra-specs:index": _READER_OR_ADMIN,
    "os_compute_api:os-flavor-extra-specs:show": _READER_OR_ADMIN,
    "os_compute_api:os-flavor-extra-specs:create": _ADMIN,
    "os_compute_api:os-flavor-extra-specs:update": _ADMIN,
    "os_compute_api:os-flavor-extra-specs:delete": _ADMIN,
    "os_compute_api:os-flavor-access": _ADMIN,
    "os_compute_api:os-flavor-access:add_tenant_access": _ADMIN,
    "os_compute_api:os-flavor-access:remove_tenant_access": _ADMIN,
    # Key pairs.
    "os_compute_api:os-keypairs:index": _OWNER_OR_ADMIN,
    "os_compute_api:os-keypairs:create": _OWNER_OR_ADMIN,
    "os_compute_api:os-keypairs:show": _OWNER_OR_ADMIN,
    "os_compute_api:os-keypairs:delete": _OWNER_OR_ADMIN,
    # Quotas and limits.
    "os_compute_api:os-quota-sets:show": _READER_OR_ADMIN,
    "os_compute_api:os-quota-sets:detail": _READER_OR_ADMIN,
    "os_compute_api:os-quota-sets:defaults": _ANYONE,
    "os_compute_api:os-quota-sets:update": _ADMIN,
    "os_compute_api:os-quota-sets:delete": _ADMIN,
    "os_compute_api:os-quota-class-sets:show": _ADMIN,
    "os_compute_api:os-quota-class-sets:update": _ADMIN,
    "os_compute_api:limits": _ANYONE,
    "os_compute_api:limits:other_project": _ADMIN,
    # Server groups.
    "os_compute_api:os-server-groups:create": "rule:project_member_api",
    "os_compute_api:os-server-groups:delete": _MEMBER_OR_ADMIN,
    "os_compute_api:os-server-groups:index": _READER_OR_ADMIN,
    "os_compute_api:os-server-groups:index:all_projects": _ADMIN,
    "os_compute_api:os-server-groups:show": _READER_OR_ADMIN,
    # Availability zones.
    "os_compute_api:os-availability-zone:list": _ANYONE,
    "os_compute_api:os-availability-zone:detail": _ADMIN,
}
