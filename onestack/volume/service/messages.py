"""User messages (``/messages``, 3.3): Cinder's action and detail codes, and the one way to
record a message.

A message stores the ids; ``service/user_messages.py`` (the API's side) turns them into
``"<action text>: <detail text>"``. Its event id is ``VOLUME_<resource type>_<action id>_<detail
id>``, and it expires after ``MESSAGE_TTL`` seconds (Cinder's message_ttl, 30 days).
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.service.common import created, new_id

MESSAGE_TTL = 2592000

# Resource types.
VOLUME, VOLUME_SNAPSHOT, VOLUME_BACKUP = "VOLUME", "VOLUME_SNAPSHOT", "VOLUME_BACKUP"


class Action:
    SCHEDULE_ALLOCATE_VOLUME = "001"
    ATTACH_VOLUME = "002"
    COPY_VOLUME_TO_IMAGE = "003"
    UPDATE_ATTACHMENT = "004"
    COPY_IMAGE_TO_VOLUME = "005"
    UNMANAGE_VOLUME = "006"
    EXTEND_VOLUME = "007"
    CREATE_VOLUME_FROM_BACKEND = "008"
    SNAPSHOT_CREATE = "009"
    SNAPSHOT_DELETE = "010"
    SNAPSHOT_UPDATE = "011"
    SNAPSHOT_METADATA_UPDATE = "012"
    BACKUP_CREATE = "013"
    BACKUP_DELETE = "014"
    BACKUP_RESTORE = "015"
    REIMAGE_VOLUME = "016"


class Detail:
    UNKNOWN_ERROR = "001"
    DRIVER_NOT_INITIALIZED = "002"
    NO_BACKEND_AVAILABLE = "003"
    FAILED_TO_UPLOAD_VOLUME = "004"
    VOLUME_ATTACH_MODE_INVALID = "005"
    QUOTA_EXCEED = "006"
    NOT_ENOUGH_SPACE_FOR_IMAGE = "007"
    UNMANAGE_ENC_NOT_SUPPORTED = "008"
    NOTIFY_COMPUTE_SERVICE_FAILED = "009"
    DRIVER_FAILED_EXTEND = "010"
    SIGNATURE_VERIFICATION_FAILED = "011"
    DRIVER_FAILED_CREATE = "012"
    SNAPSHOT_CREATE_ERROR = "013"
    SNAPSHOT_UPDATE_METADATA_FAILED = "014"
    SNAPSHOT_IS_BUSY = "015"
    SNAPSHOT_DELETE_ERROR = "016"
    BACKUP_INVALID_STATE = "017"
    BACKUP_SERVICE_DOWN = "018"
    BACKUP_CREATE_DEVICE_ERROR = "019"
    BACKUP_CREATE_DRIVER_ERROR = "020"
    ATTACH_ERROR = "021"
    DETACH_ERROR = "022"
    BACKUP_CREATE_CLEANUP_ERROR = "023"
    BACKUP_SCHEDULE_ERROR = "024"
    BACKUP_DELETE_DRIVER_ERROR = "025"
    BACKUP_RESTORE_ERROR = "026"
    VOLUME_INVALID_STATE = "027"
    REIMAGE_VOLUME_FAILED = "028"
    IMAGE_FORMAT_UNACCEPTABLE = "029"


def event_id(resource_type: str | None, action_id: str | None, detail_id: str | None) -> str:
    return f"VOLUME_{resource_type}_{action_id}_{detail_id}"


def record(s: Session, project_id: str, resource_type: str | None, resource_uuid: str | None,
           action_id: str, detail_id: str = Detail.UNKNOWN_ERROR, *, request_id: str | None = None,
           level: str = "ERROR") -> models.Message:
    """Add a user message for the project (in the caller's transaction)."""
    stamp = created()
    message = models.Message(
        id=new_id(), project_id=project_id, request_id=request_id or f"req-{new_id()}",
        resource_type=resource_type, resource_uuid=resource_uuid,
        event_id=event_id(resource_type, action_id, detail_id), message_level=level,
        action_id=action_id, detail_id=detail_id, created_at=stamp,
        expires_at=stamp + timedelta(seconds=MESSAGE_TTL))
    s.add(message)
    return message
