"""Image sharing: the owner adds member projects; each member accepts or rejects the image."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge
from onestack.core.ids import isotime, utcnow
from onestack.image.models import Image, ImageMember
from onestack.image.service.images import Viewer, get_image
from onestack.image.service.schemas import MAX_LEN, MEMBER_STATUSES


def member_to_dict(m: ImageMember) -> dict[str, Any]:
    return {
        "created_at": isotime(m.created_at, micro=False),
        "updated_at": isotime(m.updated_at, micro=False),
        "image_id": m.image_id,
        "member_id": m.member,
        "status": m.status,
        "schema": "/v2/schemas/member",
    }


def _shared_image(s: Session, image_id: str, viewer: Viewer) -> Image:
    image = get_image(s, image_id, viewer)
    if image.visibility != "shared":
        raise Forbidden(f"Only shared images have members; image {image_id} is {image.visibility}.")
    return image


def clean_member_id(body: Any) -> str:
    if not isinstance(body, dict) or "member" not in body:
        raise BadRequest('The request body must be {"member": "<project id>"}.')
    member = body["member"]
    if not isinstance(member, str) or not member or len(member) > MAX_LEN:
        raise BadRequest("'member' must be a project id (a non-empty string).")
    return member


def clean_member_status(body: Any) -> str:
    # openstacksdk sends the whole member document back; only "status" matters.
    if not isinstance(body, dict) or "status" not in body:
        raise BadRequest('The request body must be {"status": "accepted|rejected|pending"}.')
    status = body["status"]
    if status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status {status!r}: use {', '.join(MEMBER_STATUSES)}.")
    return str(status)


def add_member(s: Session, image_id: str, viewer: Viewer, member: str, limit: int) -> dict[str, Any]:
    _shared_image(s, image_id, viewer)
    if s.get(ImageMember, (image_id, member)) is not None:
        raise Conflict(f"Project {member} is already a member of image {image_id}.")
    count = s.scalar(select(func.count()).select_from(ImageMember).where(ImageMember.image_id == image_id)) or 0
    if limit >= 0 and count + 1 > limit:
        raise PayloadTooLarge(f"Attempted: {count + 1}, Maximum: {limit} image members.")
    now = utcnow()
    row = ImageMember(image_id=image_id, member=member, status="pending", created_at=now, updated_at=now)
    s.add(row)
    s.flush()
    return member_to_dict(row)


def _sees_all_members(image: Image, viewer: Viewer) -> bool:
    return viewer.is_admin or (viewer.project_id is not None and image.owner == viewer.project_id)


def list_members(s: Session, image_id: str, viewer: Viewer) -> list[dict[str, Any]]:
    """The owner sees every member; a member sees only its own membership."""
    image = _shared_image(s, image_id, viewer)
    stmt = select(ImageMember).where(ImageMember.image_id == image_id).order_by(ImageMember.created_at, ImageMember.member)
    if not _sees_all_members(image, viewer):
        stmt = stmt.where(ImageMember.member == viewer.project_id)
    return [member_to_dict(m) for m in s.scalars(stmt)]


def _membership(s: Session, image_id: str, member: str, viewer: Viewer) -> tuple[Image, ImageMember]:
    image = _shared_image(s, image_id, viewer)
    row = s.get(ImageMember, (image_id, member))
    if row is None or not (_sees_all_members(image, viewer) or member == viewer.project_id):
        raise NotFound(f"Project {member} is not a member of image {image_id}.")
    return image, row


def get_member(s: Session, image_id: str, member: str, viewer: Viewer) -> dict[str, Any]:
    return member_to_dict(_membership(s, image_id, member, viewer)[1])


def image_owner(s: Session, image_id: str, viewer: Viewer) -> str | None:
    """The owner of a visible image (for policy targets)."""
    return get_image(s, image_id, viewer).owner


def update_member(s: Session, image_id: str, member: str, viewer: Viewer, status: str) -> dict[str, Any]:
    """Only the member itself decides whether it takes up a shared image."""
    _image, row = _membership(s, image_id, member, viewer)
    if member != viewer.project_id and not viewer.is_admin:
        raise Forbidden("Only the member project itself may change its membership status.")
    row.status = status
    row.updated_at = utcnow()
    s.flush()
    return member_to_dict(row)


def delete_member(s: Session, image_id: str, member: str, viewer: Viewer) -> None:
    image, row = _membership(s, image_id, member, viewer)
    if not _sees_all_members(image, viewer):
        raise Forbidden("Only the image owner may remove members.")
    s.delete(row)
