"""Quota sets as the API shows and changes them (``/os-quota-sets``, ``/os-quota-class-sets``,
``/limits``); the limits and usage themselves are ``service/quotas.py``'s."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import delete
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import Invalid
from onestack.volume.service import quotas


def known(s: Session) -> list[str]:
    return quotas.resources(s)


def project_limits(s: Session, project_id: str) -> dict[str, int]:
    return quotas.limits_for(s, project_id)


def project_usage(s: Session, project_id: str) -> dict[str, dict[str, int]]:
    """``{resource: {limit, in_use, reserved}}``: reserved is always 0, the rows are the reservation."""
    limits = quotas.limits_for(s, project_id)
    used = quotas.usage(s, project_id)
    return {r: {"limit": limit, "in_use": used.get(r, 0), "reserved": 0} for r, limit in limits.items()}


def defaults(s: Session) -> dict[str, int]:
    return quotas.class_limits(s)


def update_project(s: Session, project_id: str, values: Mapping[str, int], validate: bool) -> dict[str, int]:
    """Set ``project_id``'s own limits. ``validate``: refuse a limit below what is in use now."""
    if validate:
        used = quotas.usage(s, project_id)
        for key, value in values.items():
            if key == "per_volume_gigabytes" or value == -1:
                continue
            if value < used.get(key, 0):
                raise Invalid(f"Quota {key} limit must be equal or greater than existing resources. "
                              f"Current usage is {used.get(key, 0)} and the requested limit is {value}.")
    for key, value in values.items():
        row = s.get(models.Quota, (project_id, key))
        if row is None:
            s.add(models.Quota(project_id=project_id, resource=key, hard_limit=value))
        else:
            row.hard_limit = value
    s.flush()
    return quotas.limits_for(s, project_id)


def delete_project(s: Session, project_id: str) -> None:
    """Back to the defaults."""
    s.execute(delete(models.Quota).where(models.Quota.project_id == project_id))


def class_limits(s: Session, class_name: str) -> dict[str, int]:
    return quotas.class_limits(s, class_name)


def update_class(s: Session, class_name: str, values: Mapping[str, int]) -> dict[str, int]:
    for key, value in values.items():
        row = s.get(models.QuotaClass, (class_name, key))
        if row is None:
            s.add(models.QuotaClass(class_name=class_name, resource=key, hard_limit=value))
        else:
            row.hard_limit = value
    s.flush()
    return quotas.class_limits(s, class_name)


def absolute_limits(s: Session, project_id: str) -> dict[str, int]:
    """``/limits``'s ``absolute``: Cinder's names for the limits and what is used."""
    limits = quotas.limits_for(s, project_id)
    used = quotas.usage(s, project_id)
    return {
        "maxTotalVolumes": limits["volumes"], "maxTotalSnapshots": limits["snapshots"],
        "maxTotalVolumeGigabytes": limits["gigabytes"], "maxTotalBackups": limits["backups"],
        "maxTotalBackupGigabytes": limits["backup_gigabytes"],
        "totalVolumesUsed": used["volumes"], "totalGigabytesUsed": used["gigabytes"],
        "totalSnapshotsUsed": used["snapshots"], "totalBackupsUsed": used["backups"],
        "totalBackupGigabytesUsed": used["backup_gigabytes"],
    }
