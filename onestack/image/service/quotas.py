"""Per-project image limits (Glance's unified-limit names) and current usage.

Limits come from Keystone's unified limits for the image service when the composition root
wires an identity directory (project limit, else registered default), else from ``[image]``
configuration.
-1 means unlimited. Sizes are MiB, as Glance's limits are; usage is reported in the same unit.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import PayloadTooLarge
from onestack.image.models import Image

MIB = 1024 * 1024
LIMIT_NAMES = ("image_size_total", "image_stage_total", "image_count_total", "image_count_uploading")
BUSY_STATUSES = ("saving", "uploading", "importing")


def limit(s: Session, image_service: Any, project_id: str | None, name: str) -> int:
    directory = image_service.directory
    if directory is not None and project_id:
        found = directory.limit("image", name, project_id)
        if found is not None:
            return int(found)
    return int(getattr(image_service.config.image, name))


def _live(project_id: str | None) -> Any:
    return (Image.owner == project_id) & Image.deleted_at.is_(None) & (Image.status.notin_(("deleted", "killed")))


def size_used(s: Session, project_id: str | None) -> int:
    """Bytes of image data a project holds in the stores."""
    total = s.scalar(select(func.coalesce(func.sum(Image.size), 0)).where(
        _live(project_id), Image.status.in_(("active", "deactivated", "saving", "importing"))))
    return int(total or 0)


def stage_used(s: Session, project_id: str | None) -> int:
    """Bytes waiting in the staging area for import."""
    rows = s.scalars(select(Image).where(_live(project_id), Image.status.in_(("uploading", "importing"))))
    return sum(int((img.extra or {}).get("staged_size") or 0) for img in rows)


def count_total(s: Session, project_id: str | None) -> int:
    return int(s.scalar(select(func.count()).select_from(Image).where(_live(project_id))) or 0)


def count_uploading(s: Session, project_id: str | None) -> int:
    return int(s.scalar(select(func.count()).select_from(Image).where(
        _live(project_id), Image.status.in_(BUSY_STATUSES))) or 0)


def usage(s: Session, image_service: Any, project_id: str | None) -> dict[str, dict[str, int]]:
    """The body of GET /v2/info/usage."""
    used = {
        "image_size_total": -(-size_used(s, project_id) // MIB),
        "image_stage_total": -(-stage_used(s, project_id) // MIB),
        "image_count_total": count_total(s, project_id),
        "image_count_uploading": count_uploading(s, project_id),
    }
    return {name: {"limit": limit(s, image_service, project_id, name), "usage": used[name]} for name in LIMIT_NAMES}


def _over(message: str) -> PayloadTooLarge:
    return PayloadTooLarge(f"Request Entity Too Large: {message}")


def check_image_count(s: Session, image_service: Any, project_id: str | None) -> None:
    """For image create: 413 when the project already has its image_count_total images."""
    cap = limit(s, image_service, project_id, "image_count_total")
    if cap >= 0 and count_total(s, project_id) >= cap:
        raise _over(f"project {project_id} is at its image_count_total limit of {cap}")


def upload_allowance(s: Session, image_service: Any, project_id: str | None, *, staging: bool) -> int | None:
    """Bytes the next upload (or stage) may still write; raises 413 when nothing is left."""
    busy = limit(s, image_service, project_id, "image_count_uploading")
    if busy >= 0 and count_uploading(s, project_id) >= busy:
        raise _over(f"project {project_id} is at its image_count_uploading limit of {busy}")
    name = "image_stage_total" if staging else "image_size_total"
    cap = limit(s, image_service, project_id, name)
    allowed: int | None = int(image_service.config.image.image_size_cap)
    if cap >= 0:
        used = stage_used(s, project_id) if staging else size_used(s, project_id)
        left = cap * MIB - used
        if left <= 0:
            raise _over(f"project {project_id} is at its {name} limit of {cap} MiB")
        allowed = left if allowed is None else min(allowed, left)
    return allowed


async def effective_limit(image_service: Any, project_id: str, name: str) -> int:
    """The limit in force for ``project_id`` (Keystone's, else configuration); -1 is unlimited."""
    return int(await image_service.db.read(lambda s: limit(s, image_service, project_id, name)))
