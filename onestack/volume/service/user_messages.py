"""User messages (``/messages``, 3.3) as the API reads them: list, show, delete, and the words
each row's ``action_id``/``detail_id`` stand for (Cinder's ``message_field``). Whoever records
a message (``service/messages.py``) stores the ids; the text is built here when it is shown."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import MessageNotFound
from onestack.volume.service.common import Caller, ListQuery, get_visible, list_rows, visible

# Cinder's message_field.Action: id → what was being done.
ACTIONS: dict[str, str] = {
    "000": "unknown action",
    "001": "schedule allocate volume",
    "002": "attach volume",
    "003": "copy volume to image",
    "004": "update attachment",
    "005": "copy image to volume",
    "006": "unmanage volume",
    "007": "extend volume",
    "008": "create volume from backend storage",
    "009": "create snapshot",
    "010": "delete snapshot",
    "011": "update snapshot",
    "012": "update snapshot metadata",
    "013": "create backup",
    "014": "delete backup",
    "015": "restore backup",
    "016": "reimage volume",
}
# Cinder's message_field.Detail: id → what went wrong.
DETAILS: dict[str, str] = {
    "001": "An unknown error occurred.",
    "002": "Driver is not initialized at present.",
    "003": "Could not find any available weighted backend.",
    "004": "Failed to upload volume to image at backend.",
    "005": "Volume's attach mode is invalid.",
    "006": "Not enough quota resource for operation.",
    "007": "Image used for creating volume exceeds available space.",
    "008": "Unmanaging encrypted volumes is not supported.",
    "009": "Compute service failed to extend volume.",
    "010": "Volume Driver failed to extend volume.",
    "011": "Image signature verification failed.",
    "012": "Driver failed to create the volume.",
    "013": "Snapshot failed to create.",
    "014": "Volume snapshot update metadata failed.",
    "015": "Snapshot is busy.",
    "016": "Snapshot failed to delete.",
    "017": "Backup status is invalid.",
    "018": "Backup service is down.",
    "019": "Failed to get backup device from the volume service.",
    "020": "Backup driver failed to create backup.",
    "021": "Failed to attach volume.",
    "022": "Failed to detach volume.",
    "023": "Cleanup of temporary volume/snapshot failed.",
    "024": "Backup failed to schedule. Service not found for creating backup.",
    "025": "Backup driver failed to delete backup.",
    "026": "Backup driver failed to restore backup.",
    "027": "Volume status is invalid.",
    "028": "Compute service failed to reimage volume.",
    "029": "The image disk format must be the same as the volume format for the volume type you are "
           "requesting.",
}

M = models.Message
SORT_COLUMNS = {"created_at": M.created_at, "resource_type": M.resource_type, "event_id": M.event_id,
                "resource_uuid": M.resource_uuid, "message_level": M.message_level, "request_id": M.request_id,
                "id": M.id}
FILTERS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")


def user_message(row: models.Message) -> str:
    action = ACTIONS.get(row.action_id or "000", ACTIONS["000"])
    detail = DETAILS.get(row.detail_id or "001", DETAILS["001"])
    return f"{action}: {detail}"


def list_messages(s: Session, caller: Caller, lq: ListQuery) -> list[models.Message]:
    stmt = select(M)
    if not caller.is_admin:
        stmt = visible(stmt, M, caller, lq)
    elif lq.project_id is not None:
        stmt = stmt.where(M.project_id == lq.project_id)
    return list_rows(s, stmt, M, lq, SORT_COLUMNS).rows


def get_message(s: Session, message_id: str, caller: Caller) -> models.Message:
    return get_visible(s, M, message_id, caller, MessageNotFound)


def delete_message(s: Session, message_id: str, caller: Caller) -> None:
    s.delete(get_visible(s, M, message_id, caller, MessageNotFound))
