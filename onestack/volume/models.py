"""Block-storage tables: volumes (metadata, admin metadata, image metadata), volume types (extra
specs, access, encryption, per-project defaults), QoS specs, snapshots, backups, attachments,
transfers, quotas and quota classes, user messages, generic groups (types, specs, snapshots),
and what the volume agents report: their services and pools.

Rows are deleted for real (Cinder soft-deletes; nothing here reads deleted rows back). Quota
usage is counted from the rows themselves (a volume in ``creating`` already counts), so a
reservation is the row and a revert is its deletion: nothing can leak between the two.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = 36
PROJECT = 255
NAME = 255
DESCRIPTION = 255
HOST = 255
KEY = 255
VALUE = 255


class Base(DeclarativeBase):
    pass


class Stamped:
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


# --- volumes -------------------------------------------------------------------------------------


class Volume(Stamped, Base):
    __tablename__ = "volume_volumes"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    user_id: Mapped[str] = mapped_column(String(PROJECT))
    name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    size: Mapped[int] = mapped_column(Integer)  # GiB
    status: Mapped[str] = mapped_column(String(32), index=True)
    previous_status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    attach_status: Mapped[str] = mapped_column(String(32), default="detached")
    migration_status: Mapped[str | None] = mapped_column(String(255), nullable=True)  # target:<id> too
    availability_zone: Mapped[str] = mapped_column(String(NAME), default="nova")
    volume_type_id: Mapped[str] = mapped_column(String(ID), index=True)
    # Where it lives, Cinder's "host@backend#pool"; None until the scheduler placed it.
    host: Mapped[str | None] = mapped_column(String(HOST), nullable=True, index=True)
    bootable: Mapped[bool] = mapped_column(Boolean, default=False)
    multiattach: Mapped[bool] = mapped_column(Boolean, default=False)
    encrypted: Mapped[bool] = mapped_column(Boolean, default=False)
    replication_status: Mapped[str] = mapped_column(String(32), default="disabled")
    group_id: Mapped[str | None] = mapped_column(String(ID), nullable=True, index=True)
    # What it was made from (at most one of them).
    snapshot_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    source_volid: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    backup_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    # The driver's own reference to the volume's data (a file path for the file driver).
    provider_location: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    provider_id: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Counted in quota usage (False for the temporary volumes of migrations, as Cinder's use_quota).
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)


class VolumeMetadata(Base):
    __tablename__ = "volume_metadata"
    volume_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


class VolumeAdminMetadata(Base):
    """What only the service sets: ``readonly``, ``attached_mode``, ``invisible_key``."""

    __tablename__ = "volume_admin_metadata"
    volume_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


class VolumeImageMetadata(Base):
    """``volume_image_metadata``: the image's properties a volume made from it carries."""

    __tablename__ = "volume_image_metadata"
    volume_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


# --- volume types and QoS ------------------------------------------------------------------------


class VolumeType(Stamped, Base):
    __tablename__ = "volume_types"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    qos_specs_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)


class VolumeTypeExtraSpec(Base):
    __tablename__ = "volume_type_extra_specs"
    volume_type_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


class VolumeTypeAccess(Base):
    __tablename__ = "volume_type_projects"
    volume_type_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)


class VolumeTypeEncryption(Stamped, Base):
    __tablename__ = "volume_type_encryption"
    volume_type_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_types.id", ondelete="CASCADE"),
                                                primary_key=True)
    encryption_id: Mapped[str] = mapped_column(String(ID), unique=True)
    provider: Mapped[str] = mapped_column(String(NAME))
    cipher: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    key_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    control_location: Mapped[str] = mapped_column(String(32), default="front-end")


class DefaultVolumeType(Base):
    """A project's own default type (``/default-types``, 3.62)."""

    __tablename__ = "volume_default_types"
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_types.id", ondelete="CASCADE"))


class QosSpecs(Stamped, Base):
    __tablename__ = "volume_qos_specs"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    consumer: Mapped[str] = mapped_column(String(32), default="back-end")


class QosSpecsKey(Base):
    __tablename__ = "volume_qos_specs_keys"
    qos_specs_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_qos_specs.id", ondelete="CASCADE"),
                                              primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


# --- snapshots and backups -----------------------------------------------------------------------


class Snapshot(Stamped, Base):
    __tablename__ = "volume_snapshots"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(ID), index=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    user_id: Mapped[str] = mapped_column(String(PROJECT))
    name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    progress: Mapped[str] = mapped_column(String(8), default="0%")
    volume_size: Mapped[int] = mapped_column(Integer)
    volume_type_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    group_snapshot_id: Mapped[str | None] = mapped_column(String(ID), nullable=True, index=True)
    provider_location: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    host: Mapped[str | None] = mapped_column(String(HOST), nullable=True)
    use_quota: Mapped[bool] = mapped_column(Boolean, default=True)


class SnapshotMetadata(Base):
    __tablename__ = "volume_snapshot_metadata"
    snapshot_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_snapshots.id", ondelete="CASCADE"),
                                             primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


class Backup(Stamped, Base):
    __tablename__ = "volume_backups"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(ID), index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    user_id: Mapped[str] = mapped_column(String(PROJECT))
    name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    status: Mapped[str] = mapped_column(String(32), index=True)
    size: Mapped[int] = mapped_column(Integer)  # GiB, the volume's
    object_count: Mapped[int] = mapped_column(Integer, default=0)
    container: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    fail_reason: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    is_incremental: Mapped[bool] = mapped_column(Boolean, default=False)
    parent_id: Mapped[str | None] = mapped_column(String(ID), nullable=True, index=True)
    data_timestamp: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # The volume agent host that made it (and can restore it); its store's driver name.
    host: Mapped[str | None] = mapped_column(String(HOST), nullable=True)
    service: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    restore_volume_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    encryption_key_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)


class BackupMetadata(Base):
    __tablename__ = "volume_backup_metadata"
    backup_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_backups.id", ondelete="CASCADE"),
                                           primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


# --- attachments and transfers -------------------------------------------------------------------


class Attachment(Stamped, Base):
    """One attachment of a volume to a server (or any consumer): Cinder's volume_attachment."""

    __tablename__ = "volume_attachments"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_volumes.id", ondelete="CASCADE"),
                                           index=True)
    instance_uuid: Mapped[str | None] = mapped_column(String(ID), nullable=True, index=True)
    attached_host: Mapped[str | None] = mapped_column(String(HOST), nullable=True)
    mountpoint: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    attach_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    detach_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # reserved / attaching / attached / detaching / detached / error_attaching / error_detaching
    attach_status: Mapped[str] = mapped_column(String(32))
    attach_mode: Mapped[str] = mapped_column(String(8), default="rw")
    connector: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class Transfer(Stamped, Base):
    __tablename__ = "volume_transfers"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    volume_id: Mapped[str] = mapped_column(String(ID), unique=True)
    source_project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    salt: Mapped[str] = mapped_column(String(64))
    crypt_hash: Mapped[str] = mapped_column(String(255))
    no_snapshots: Mapped[bool] = mapped_column(Boolean, default=False)


# --- quotas and messages -------------------------------------------------------------------------


class Quota(Base):
    """A project's own hard limit for one resource (``volumes``, ``gigabytes_<type>``…)."""

    __tablename__ = "volume_quotas"
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)
    resource: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class QuotaClass(Base):
    """A quota class's limit (``default`` is the one Cinder uses for every project)."""

    __tablename__ = "volume_quota_classes"
    class_name: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    resource: Mapped[str] = mapped_column(String(NAME), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(BigInteger)


class Message(Base):
    """A user message (``/messages``, 3.3): something failed that the user should hear of."""

    __tablename__ = "volume_messages"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    request_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_type: Mapped[str | None] = mapped_column(String(64), nullable=True)
    resource_uuid: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    event_id: Mapped[str] = mapped_column(String(64))
    message_level: Mapped[str] = mapped_column(String(32), default="ERROR")
    action_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    detail_id: Mapped[str | None] = mapped_column(String(16), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True, index=True)


# --- generic volume groups -----------------------------------------------------------------------


class GroupType(Stamped, Base):
    __tablename__ = "volume_group_types"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME), unique=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)


class GroupTypeSpec(Base):
    __tablename__ = "volume_group_type_specs"
    group_type_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_group_types.id", ondelete="CASCADE"),
                                               primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY), primary_key=True)
    value: Mapped[str] = mapped_column(String(VALUE))


class GroupTypeAccess(Base):
    __tablename__ = "volume_group_type_projects"
    group_type_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_group_types.id", ondelete="CASCADE"),
                                               primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), primary_key=True)


class Group(Stamped, Base):
    __tablename__ = "volume_groups"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    user_id: Mapped[str] = mapped_column(String(PROJECT))
    name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    availability_zone: Mapped[str] = mapped_column(String(NAME), default="nova")
    group_type_id: Mapped[str] = mapped_column(String(ID))
    host: Mapped[str | None] = mapped_column(String(HOST), nullable=True)
    group_snapshot_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    source_group_id: Mapped[str | None] = mapped_column(String(ID), nullable=True)
    replication_status: Mapped[str] = mapped_column(String(32), default="disabled")


class GroupVolumeType(Base):
    __tablename__ = "volume_group_volume_types"
    group_id: Mapped[str] = mapped_column(String(ID), ForeignKey("volume_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    volume_type_id: Mapped[str] = mapped_column(String(ID), primary_key=True)


class GroupSnapshot(Stamped, Base):
    __tablename__ = "volume_group_snapshots"
    id: Mapped[str] = mapped_column(String(ID), primary_key=True)
    group_id: Mapped[str] = mapped_column(String(ID), index=True)
    project_id: Mapped[str] = mapped_column(String(PROJECT), index=True)
    user_id: Mapped[str] = mapped_column(String(PROJECT))
    name: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    description: Mapped[str | None] = mapped_column(String(DESCRIPTION), nullable=True)
    status: Mapped[str] = mapped_column(String(32))
    group_type_id: Mapped[str] = mapped_column(String(ID))


# --- what the agents report ----------------------------------------------------------------------


class VolumeService(Stamped, Base):
    """One row of ``/os-services``: a volume backend (``host@backend``), the scheduler, backups.

    ``updated_at`` is the last heartbeat; a service is up while it is younger than
    ``volume.service_down_time``.
    """

    __tablename__ = "volume_services"
    host: Mapped[str] = mapped_column(String(HOST), primary_key=True)
    binary: Mapped[str] = mapped_column(String(64), primary_key=True)
    id: Mapped[int] = mapped_column(Integer, unique=True)
    availability_zone: Mapped[str] = mapped_column(String(NAME), default="nova")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    frozen: Mapped[bool] = mapped_column(Boolean, default=False)
    replication_status: Mapped[str] = mapped_column(String(32), default="disabled")
    active_backend_id: Mapped[str | None] = mapped_column(String(NAME), nullable=True)
    # The agent host (``onestack agent volume --host``) that runs this backend: its bus route.
    agent_host: Mapped[str | None] = mapped_column(String(HOST), nullable=True)


class Pool(Base):
    """One pool a backend reported, with capacity and capabilities (``/scheduler-stats/get_pools``)."""

    __tablename__ = "volume_pools"
    name: Mapped[str] = mapped_column(String(HOST), primary_key=True)  # host@backend#pool
    backend_host: Mapped[str] = mapped_column(String(HOST), index=True)  # host@backend
    agent_host: Mapped[str] = mapped_column(String(HOST))
    availability_zone: Mapped[str] = mapped_column(String(NAME), default="nova")
    total_capacity_gb: Mapped[float] = mapped_column()
    free_capacity_gb: Mapped[float] = mapped_column()
    # What the volumes placed here take (Cinder's allocated_capacity_gb, counted from the volume
    # rows) and what the backend says it provisioned (thin: the volumes' virtual sizes).
    allocated_capacity_gb: Mapped[float] = mapped_column(default=0.0)
    provisioned_capacity_gb: Mapped[float] = mapped_column(default=0.0)
    reserved_percentage: Mapped[int] = mapped_column(Integer, default=0)
    max_over_subscription_ratio: Mapped[float] = mapped_column(default=20.0)
    thin_provisioning_support: Mapped[bool] = mapped_column(Boolean, default=True)
    thick_provisioning_support: Mapped[bool] = mapped_column(Boolean, default=False)
    # Everything else the backend reports (volume_backend_name, storage_protocol, vendor_name,
    # driver_version, multiattach, ...), for the CapabilitiesFilter and get_pools?detail=true.
    # A capacity reported as 'infinite' or 'unknown' is kept here under its own key (the
    # column then holds 0).
    capabilities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
