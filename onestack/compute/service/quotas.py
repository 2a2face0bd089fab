"""Compute quotas: defaults, class overrides, per-project/per-user limits and what is in use.

The limit of a resource for a project is the first of: the user's own quota (when asked for a
user), the project's quota, the ``default`` quota class, Nova's built-in default. -1 is unlimited.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, func, select
from sqlalchemy.orm import Session

from onestack.compute.models import KeyPair, Quota, QuotaClass, ServerGroup, ServerGroupMember
from onestack.core.api.faults import BadRequest, Forbidden

# Nova's defaults, in the order Nova lists them.
DEFAULTS: dict[str, int] = {
    "instances": 10, "cores": 20, "ram": 51200, "floating_ips": 10, "fixed_ips": -1, "metadata_items": 128,
    "injected_files": 5, "injected_file_content_bytes": 10240, "injected_file_path_bytes": 255,
    "security_groups": 10, "security_group_rules": 20, "key_pairs": 100, "server_groups": 10,
    "server_group_members": 10,
}
NETWORK = ("floating_ips", "fixed_ips", "security_groups", "security_group_rules")  # gone from the API at 2.36
FILES = ("injected_files", "injected_file_content_bytes", "injected_file_path_bytes")  # gone at 2.57
SERVER_GROUPS = ("server_groups", "server_group_members")
DEFAULT_CLASS = "default"


def resources_for(mv: tuple[int, int], *, quota_class: bool = False) -> list[str]:
    """The resources the API shows at microversion ``mv`` (quota class sets changed at 2.50, not 2.36)."""
    hidden: set[str] = set()
    if mv >= ((2, 50) if quota_class else (2, 36)):
        hidden.update(NETWORK)
    if mv >= (2, 57):
        hidden.update(FILES)
    if quota_class and mv < (2, 50):
        hidden.update(SERVER_GROUPS)
    return [r for r in DEFAULTS if r not in hidden]


# The boot path reads limits on every request: its statements are built once.
_CLASS_ROWS = select(QuotaClass.resource, QuotaClass.hard_limit).where(QuotaClass.class_name == bindparam("name"))
_QUOTA_ROWS = select(Quota.user_id, Quota.resource, Quota.hard_limit).where(
    Quota.project_id == bindparam("project_id"), Quota.user_id.in_(bindparam("owners", expanding=True)))


def class_limits(s: Session, class_name: str = DEFAULT_CLASS) -> dict[str, int]:
    limits = dict(DEFAULTS)
    names = [DEFAULT_CLASS] if class_name == DEFAULT_CLASS else [DEFAULT_CLASS, class_name]
    for name in names:
        for resource, hard_limit in s.execute(_CLASS_ROWS, {"name": name}):
            if resource in limits:
                limits[resource] = hard_limit
    return limits


def limits_for(s: Session, project_id: str, user_id: str | None = None) -> dict[str, int]:
    limits = class_limits(s)
    owners = [""] + ([user_id] if user_id else [])
    rows = s.execute(_QUOTA_ROWS, {"project_id": project_id, "owners": owners}).all()
    for owner in owners:  # the user's own limits override the project's
        for row in rows:
            if row.user_id == owner and row.resource in limits:
                limits[row.resource] = row.hard_limit
    return limits


def limits_pair(s: Session, project_id: str, user_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """``limits_for`` the project and for the user within it, in two queries (the boot path's)."""
    project = class_limits(s)
    rows = s.execute(_QUOTA_ROWS, {"project_id": project_id, "owners": ["", user_id]}).all()
    for row in rows:
        if row.user_id == "" and row.resource in project:
            project[row.resource] = row.hard_limit
    user = dict(project)
    for row in rows:
        if row.user_id == user_id and row.resource in user:
            user[row.resource] = row.hard_limit
    return project, user


def usage_for(s: Session, project_id: str, user_id: str | None = None,
              keypair_user: str | None = None) -> dict[str, int]:
    """What is in use: the user's servers when ``user_id`` is given, else the project's. Key pairs
    belong to users, so they are counted for ``user_id`` or, failing that, ``keypair_user``."""
    # Imported here: instances imports this module for its quota checks.
    from onestack.compute.service import instances

    used = {name: 0 for name in DEFAULTS}
    used.update(instances.usage(s, project_id, user_id))
    owner = user_id or keypair_user
    if owner:
        used["key_pairs"] = s.scalar(select(func.count()).select_from(KeyPair).where(KeyPair.user_id == owner)) or 0
    used["server_groups"] = s.scalar(
        select(func.count()).select_from(ServerGroup).where(ServerGroup.project_id == project_id)) or 0
    return used


def check_quota(s: Session, project_id: str, resource: str, wanted: int, used: int, user_id: str | None = None) -> None:
    """403 when ``used + wanted`` would pass the limit (Nova's "Quota exceeded" answer)."""
    limit = limits_for(s, project_id, user_id)[resource]
    if limit >= 0 and used + wanted > limit:
        what = {"key_pairs": "key pairs", "server_groups": "server groups",
                "server_group_members": "server group members"}.get(resource, resource)
        raise Forbidden(f"Quota exceeded, too many {what}.")


def group_members(s: Session, group_id: int) -> int:
    return s.scalar(select(func.count()).select_from(ServerGroupMember)
                    .where(ServerGroupMember.group_id == group_id)) or 0


def update_quotas(s: Session, project_id: str, user_id: str | None, values: dict[str, int],
                  force: bool) -> dict[str, int]:
    """Set limits; unless forced, a limit below what is already used is refused (400)."""
    if not force:
        used = usage_for(s, project_id, user_id)
        for resource, limit in values.items():
            if limit != -1 and limit < used.get(resource, 0):
                raise BadRequest(f"Quota limit {limit} for {resource} must be greater than or equal to "
                                 f"already used and reserved {used[resource]}.")
    owner = user_id or ""
    for resource, limit in values.items():
        row = s.scalar(select(Quota).where(Quota.project_id == project_id, Quota.user_id == owner,
                                           Quota.resource == resource))
        if row is None:
            s.add(Quota(project_id=project_id, user_id=owner, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    s.flush()
    return limits_for(s, project_id, user_id)


def delete_quotas(s: Session, project_id: str, user_id: str | None) -> None:
    query = delete(Quota).where(Quota.project_id == project_id)
    if user_id:
        query = query.where(Quota.user_id == user_id)
    s.execute(query)


def update_class(s: Session, class_name: str, values: dict[str, int]) -> dict[str, int]:
    for resource, limit in values.items():
        row = s.get(QuotaClass, (class_name, resource))
        if row is None:
            s.add(QuotaClass(class_name=class_name, resource=resource, hard_limit=limit))
        else:
            row.hard_limit = limit
    s.flush()
    return class_limits(s, class_name)


def detail(limits: dict[str, int], used: dict[str, int]) -> dict[str, Any]:
    return {name: {"limit": limit, "in_use": used.get(name, 0), "reserved": 0} for name, limit in limits.items()}


def limits_and_usage(s: Session, project_id: str) -> tuple[dict[str, int], dict[str, int]]:
    """The project's limits and what it uses (GET /limits)."""
    return limits_for(s, project_id), usage_for(s, project_id)


def detail_for(s: Session, project_id: str, user_id: str | None, keypair_user: str | None) -> dict[str, Any]:
    """Limit, in use and reserved per resource (GET /os-quota-sets/{id}/detail)."""
    return detail(limits_for(s, project_id, user_id), usage_for(s, project_id, user_id, keypair_user=keypair_user))


def metadata_limit(s: Session, project_id: str, user_id: str | None) -> int:
    return limits_for(s, project_id, user_id)["metadata_items"]
