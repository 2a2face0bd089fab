"""Cinder's errors, in Cinder's words; rendered as ``{"<kind>": {"code", "message"}}``
(``core/api/faults.py: nova_error``: badRequest, itemNotFound, overLimit, conflictingRequest…).

The API and service layers raise these. The scheduler and the volume agents never do: what
fails there becomes the resource's ``error`` status and a user message (``/messages``).
"""

from __future__ import annotations

from onestack.core.api.faults import ApiError


class VolumeError(ApiError):
    """Base of Cinder's own errors."""


# --- 400 ----------------------------------------------------------------------------------------


class Invalid(VolumeError):
    status = 400


class InvalidInput(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid input received: {reason}")


class InvalidVolume(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume: {reason}")


class ImageUnacceptable(Invalid):
    def __init__(self, image_id: str, reason: str) -> None:
        super().__init__(f"Image {image_id} is unacceptable: {reason}")


class InvalidHost(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid host: {reason}")


class InvalidSnapshot(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid snapshot: {reason}")


class InvalidBackup(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid backup: {reason}")


class InvalidVolumeType(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid volume type: {reason}")


class InvalidQoSSpecs(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid qos specs: {reason}")


class InvalidGroup(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid Group: {reason}")


class InvalidGroupSnapshot(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid GroupSnapshot: {reason}")


class InvalidAttachment(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid attachment: {reason}")


class InvalidVolumeAttachMode(Invalid):
    def __init__(self, mode: str, volume_id: str) -> None:
        super().__init__(f"Invalid attaching mode '{mode}' for volume {volume_id}.")


class InvalidAuthKey(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"Invalid auth key: {reason}")


class InvalidParameterValue(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)


class InvalidAvailabilityZone(Invalid):
    def __init__(self, az: str) -> None:
        super().__init__(f"Availability zone '{az}' is invalid.")


class InvalidTypeAvailabilityZones(Invalid):
    def __init__(self, zones: list[str]) -> None:
        # Cinder formats the list itself: "...zones: ['az1', 'az2']".
        super().__init__(f"Volume type is only supported in these availability zones: {zones}")


class NoValidBackend(Invalid):
    def __init__(self, reason: str) -> None:
        super().__init__(f"No valid backend was found. {reason}")


class QoSSpecsInUse(Invalid):
    def __init__(self, specs_id: str) -> None:
        super().__init__(f"QoS Specs {specs_id} is still associated with entities.")


class VolumeTypeEncryptionExists(Invalid):
    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type encryption for type {type_id} already exists.")


# --- 403 ----------------------------------------------------------------------------------------


class NotAuthorized(VolumeError):
    status = 403

    def __init__(self, message: str = "Not authorized.") -> None:
        super().__init__(message)


# --- 404 ----------------------------------------------------------------------------------------


class NotFound(VolumeError):
    status = 404


class VolumeNotFound(NotFound):
    def __init__(self, volume_id: str) -> None:
        super().__init__(f"Volume {volume_id} could not be found.")


class SnapshotNotFound(NotFound):
    def __init__(self, snapshot_id: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} could not be found.")


class BackupNotFound(NotFound):
    def __init__(self, backup_id: str) -> None:
        super().__init__(f"Backup {backup_id} could not be found.")


class VolumeTypeNotFound(NotFound):
    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type with id {type_id} could not be found.")


class VolumeTypeNotFoundByName(NotFound):
    def __init__(self, name: str) -> None:
        super().__init__(f"Volume type with name {name} could not be found.")


class VolumeTypeExtraSpecsNotFound(NotFound):
    def __init__(self, type_id: str, key: str) -> None:
        super().__init__(f"Volume Type {type_id} has no extra specs with key {key}.")


class VolumeMetadataNotFound(NotFound):
    def __init__(self, volume_id: str, key: str) -> None:
        super().__init__(f"Volume {volume_id} has no metadata with key {key}.")


class SnapshotMetadataNotFound(NotFound):
    def __init__(self, snapshot_id: str, key: str) -> None:
        super().__init__(f"Snapshot {snapshot_id} has no metadata with key {key}.")


class QoSSpecsNotFound(NotFound):
    def __init__(self, specs_id: str) -> None:
        super().__init__(f"No such QoS spec {specs_id}.")


class AttachmentNotFound(NotFound):
    def __init__(self, attachment_id: str) -> None:
        super().__init__(f"Volume attachment could not be found with filter: attachment_id = {attachment_id}.")


class TransferNotFound(NotFound):
    def __init__(self, transfer_id: str) -> None:
        super().__init__(f"Transfer {transfer_id} could not be found.")


class MessageNotFound(NotFound):
    def __init__(self, message_id: str) -> None:
        super().__init__(f"Message {message_id} could not be found.")


class GroupNotFound(NotFound):
    def __init__(self, group_id: str) -> None:
        super().__init__(f"Group {group_id} could not be found.")


class GroupTypeNotFound(NotFound):
    def __init__(self, group_type_id: str) -> None:
        super().__init__(f"Group type with id {group_type_id} could not be found.")


class GroupSnapshotNotFound(NotFound):
    def __init__(self, group_snapshot_id: str) -> None:
        super().__init__(f"GroupSnapshot {group_snapshot_id} could not be found.")


class ServiceNotFound(NotFound):
    def __init__(self, service_id: str) -> None:
        super().__init__(f"Service {service_id} could not be found.")


class GroupTypeSpecsNotFound(NotFound):
    def __init__(self, group_type_id: str, key: str) -> None:
        super().__init__(f"Group Type {group_type_id} has no specs with key {key}.")


class HostNotFound(NotFound):
    def __init__(self, host: str) -> None:
        super().__init__(f"Host {host} could not be found.")


class ImageNotFound(NotFound):
    def __init__(self, image_id: str) -> None:
        super().__init__(f"Image {image_id} could not be found.")


class ServiceOnHostNotFound(NotFound):
    def __init__(self, binary: str, host: str) -> None:
        super().__init__(f"Service {binary} could not be found on host {host}.")


class QoSSpecsKeyNotFound(NotFound):
    def __init__(self, specs_id: str, key: str) -> None:
        super().__init__(f"QoS spec {specs_id} has no spec with key {key}.")


class VolumeTypeAccessNotFound(NotFound):
    def __init__(self, type_id: str, project_id: str) -> None:
        super().__init__(f"Volume type access not found for {type_id} / {project_id} combination.")


class VolumeTypeEncryptionNotFound(NotFound):
    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume type encryption for type {type_id} does not exist.")


class VolumeTypeProjectDefaultNotFound(NotFound):
    def __init__(self, project_id: str) -> None:
        super().__init__(f"Default type for project {project_id} not found.")


# --- 409 ----------------------------------------------------------------------------------------


class Duplicate(VolumeError):
    status = 409


class VolumeTypeExists(Duplicate):
    def __init__(self, type_id: str) -> None:
        super().__init__(f"Volume Type {type_id} already exists.")


class VolumeTypeAccessExists(Duplicate):
    def __init__(self, type_id: str, project_id: str) -> None:
        super().__init__(f"Volume type access for {type_id} / {project_id} combination already exists.")


class QoSSpecsExists(Duplicate):
    def __init__(self, specs_id: str) -> None:
        super().__init__(f"QoS Specs {specs_id} already exists.")


class GroupTypeExists(Duplicate):
    def __init__(self, group_type_id: str) -> None:
        super().__init__(f"Group Type {group_type_id} already exists.")


# --- 413 ----------------------------------------------------------------------------------------


class QuotaError(VolumeError):
    """Cinder answers an exceeded quota with 413 ``overLimit``."""

    status = 413


class VolumeSizeExceedsAvailableQuota(QuotaError):
    def __init__(self, name: str, requested: int, quota: int, consumed: int) -> None:
        what = "gigabytes" if name == "gigabytes" else name
        super().__init__(f"Requested volume or snapshot exceeds allowed {what} quota. Requested {requested}G, "
                         f"quota is {quota}G and {consumed}G has been consumed.")


class VolumeBackupSizeExceedsAvailableQuota(QuotaError):
    def __init__(self, requested: int, quota: int, consumed: int) -> None:
        super().__init__(f"Requested backup exceeds allowed Backup gigabytes quota. Requested {requested}G, "
                         f"quota is {quota}G and {consumed}G has been consumed.")


class VolumeLimitExceeded(QuotaError):
    def __init__(self, allowed: int, name: str = "volumes") -> None:
        super().__init__(f"Maximum number of volumes allowed ({allowed}) exceeded for quota '{name}'.")


class SnapshotLimitExceeded(QuotaError):
    def __init__(self, allowed: int) -> None:
        super().__init__(f"Maximum number of snapshots allowed ({allowed}) exceeded")


class BackupLimitExceeded(QuotaError):
    def __init__(self, allowed: int) -> None:
        super().__init__(f"Maximum number of backups allowed ({allowed}) exceeded")


class GroupLimitExceeded(QuotaError):
    def __init__(self, allowed: int) -> None:
        super().__init__(f"Maximum number of groups allowed ({allowed}) exceeded")


class VolumeSizeExceedsLimit(QuotaError):
    def __init__(self, size: int, limit: int) -> None:
        super().__init__(f"Requested volume size {size}G is larger than maximum allowed limit {limit}G.")
