"""Default compute policy, in OpenStack's rule language (Nova's personas)."""

from __future__ import annotations

DEFAULT_RULES: dict[str, str] = {
    "default": "rule:admin_api",
    "context_is_admin": "role:admin",
    "admin_api": "role:admin",
    "project_member_api": "role:member and project_id:%(project_id)s",
    "project_reader_api": "role:reader and project_id:%(project_id)s",
    "project_member_or_admin": "rule:project_member_api or rule:context_is_admin",
    "project_reader_or_admin": "rule:project_reader_api or rule:context_is_admin",
}
