"""Compute tables: flavors, key pairs, quotas, server groups, servers, services, hosts, aggregates."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from onestack.core.ids import utcnow


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Flavor(Base):
    __tablename__ = "compute_flavors"

    # The integer key is internal; clients see ``flavorid`` as the flavor's ``id``.
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    flavorid: Mapped[str] = mapped_column(String(255), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    memory_mb: Mapped[int] = mapped_column(Integer)
    vcpus: Mapped[int] = mapped_column(Integer)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    swap: Mapped[int] = mapped_column(Integer, default=0)
    rxtx_factor: Mapped[float] = mapped_column(Float, default=1.0)
    is_public: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    extra_specs: Mapped[list[FlavorExtraSpec]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")
    projects: Mapped[list[FlavorProject]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class FlavorExtraSpec(Base):
    __tablename__ = "compute_flavor_extra_specs"

    flavor_id: Mapped[int] = mapped_column(ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class FlavorProject(Base):
    """Which projects may use a private flavor."""

    __tablename__ = "compute_flavor_projects"

    flavor_id: Mapped[int] = mapped_column(ForeignKey("compute_flavors.id", ondelete="CASCADE"), primary_key=True)
    project_id: Mapped[str] = mapped_column(String(255), primary_key=True)


class KeyPair(Base):
    __tablename__ = "compute_key_pairs"
    __table_args__ = (UniqueConstraint("user_id", "name", name="uq_compute_key_pairs_user_name"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    fingerprint: Mapped[str] = mapped_column(String(255))
    public_key: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16), default="ssh")
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class Quota(Base):
    """A per-project (user_id "") or per-user override of a default limit."""

    __tablename__ = "compute_quotas"
    __table_args__ = (UniqueConstraint("project_id", "user_id", "resource", name="uq_compute_quotas"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), default="")
    resource: Mapped[str] = mapped_column(String(255))
    hard_limit: Mapped[int] = mapped_column(Integer)


class QuotaClass(Base):
    """Overrides of the built-in defaults; the class named ``default`` applies to every project."""

    __tablename__ = "compute_quota_classes"

    class_name: Mapped[str] = mapped_column(String(255), primary_key=True)
    resource: Mapped[str] = mapped_column(String(255), primary_key=True)
    hard_limit: Mapped[int] = mapped_column(Integer)


class ServerGroup(Base):
    __tablename__ = "compute_server_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255))
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    policy: Mapped[str] = mapped_column(String(64))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    members: Mapped[list[ServerGroupMember]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class ServerGroupMember(Base):
    """An instance (by uuid) in a server group; filled in once servers exist."""

    __tablename__ = "compute_server_group_members"

    group_id: Mapped[int] = mapped_column(ForeignKey("compute_server_groups.id", ondelete="CASCADE"),
                                          primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), primary_key=True)


class BootstrapStep(Base):
    """One-time set-up steps already done (e.g. the default flavors), so deleting a default sticks."""

    __tablename__ = "compute_bootstrap_steps"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    done_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


# --- servers and what the control plane keeps about them ------------------------------------

class Instance(Base):
    """A server. Desired state is ``vm_state`` (+ ``task_state`` while an action runs);
    ``power_state`` is what the host last observed. Rows are soft-deleted so ``changes-since``
    and admins' ``deleted=true`` listings still see them."""

    __tablename__ = "compute_instances"
    # Listing pages walk (created_at, id) within a project; flat page time at any table size.
    __table_args__ = (Index("ix_compute_instances_listing", "deleted", "project_id", "created_at", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(255), default="")
    display_description: Mapped[str | None] = mapped_column(Text, nullable=True)
    hostname: Mapped[str] = mapped_column(String(255), default="")
    host: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    availability_zone: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # The flavor as it was at boot (Nova embeds a copy; a later flavor edit or delete does not
    # change a server): flavorid, name, vcpus, memory_mb, root_gb, ephemeral_gb, swap, rxtx_factor,
    # extra_specs, description. ``new_flavor``/``old_flavor`` hold the other side of a resize.
    flavor: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    old_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    new_flavor: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    root_gb: Mapped[int] = mapped_column(Integer, default=0)
    ephemeral_gb: Mapped[int] = mapped_column(Integer, default=0)
    image_ref: Mapped[str] = mapped_column(String(255), default="")
    key_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    key_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_data: Mapped[str | None] = mapped_column(Text, nullable=True)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    # Internal bookkeeping: image properties, rescue/shelve details, the scheduler request.
    system_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vm_state: Mapped[str] = mapped_column(String(32), default="building")
    task_state: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Which conductor attempt works on the pending task (scheduling, unshelving): conductor/leases.py.
    task_lease: Mapped[str | None] = mapped_column(String(36), nullable=True)
    power_state: Mapped[int] = mapped_column(Integer, default=0)
    locked: Mapped[bool] = mapped_column(Boolean, default=False)
    locked_by: Mapped[str | None] = mapped_column(String(16), nullable=True)  # "owner" or "admin"
    locked_reason: Mapped[str | None] = mapped_column(Text, nullable=True)
    config_drive: Mapped[str] = mapped_column(String(16), default="")
    access_ip_v4: Mapped[str | None] = mapped_column(String(64), nullable=True)
    access_ip_v6: Mapped[str | None] = mapped_column(String(64), nullable=True)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    launch_index: Mapped[int] = mapped_column(Integer, default=0)
    reservation_id: Mapped[str] = mapped_column(String(255), default="")
    server_group: Mapped[str | None] = mapped_column(String(36), nullable=True)
    admin_password_hash: Mapped[str | None] = mapped_column(Text, nullable=True)
    encrypted_password: Mapped[str | None] = mapped_column(Text, nullable=True)  # os-server-password
    launched_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    terminated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow, index=True)
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class InstanceTag(Base):
    __tablename__ = "compute_instance_tags"

    instance_uuid: Mapped[str] = mapped_column(ForeignKey("compute_instances.uuid", ondelete="CASCADE"),
                                               primary_key=True)
    tag: Mapped[str] = mapped_column(String(80), primary_key=True, index=True)


class InstanceFault(Base):
    __tablename__ = "compute_instance_faults"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    code: Mapped[int] = mapped_column(Integer, default=500)
    message: Mapped[str] = mapped_column(String(255), default="")
    details: Mapped[str] = mapped_column(Text, default="")
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)


class InstanceAction(Base):
    """One user request against a server (create, reboot, resize...), for os-instance-actions."""

    __tablename__ = "compute_instance_actions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    action: Mapped[str] = mapped_column(String(64))
    request_id: Mapped[str] = mapped_column(String(255), index=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    message: Mapped[str | None] = mapped_column(Text, nullable=True)
    start_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)

    events: Mapped[list[InstanceActionEvent]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin",
        order_by="InstanceActionEvent.id")


class InstanceActionEvent(Base):
    __tablename__ = "compute_instance_action_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    action_id: Mapped[int] = mapped_column(ForeignKey("compute_instance_actions.id", ondelete="CASCADE"), index=True)
    event: Mapped[str] = mapped_column(String(255))
    start_time: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    finish_time: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    result: Mapped[str | None] = mapped_column(String(255), nullable=True)  # "Success" / "Error"
    traceback: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    details: Mapped[str | None] = mapped_column(Text, nullable=True)


class Service(Base):
    """A registered worker (nova-compute on each host, nova-conductor, nova-scheduler)."""

    __tablename__ = "compute_services"
    __table_args__ = (UniqueConstraint("host", "binary", name="uq_compute_services_host_binary"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    binary: Mapped[str] = mapped_column(String(64))
    topic: Mapped[str] = mapped_column(String(255), default="")
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled_reason: Mapped[str | None] = mapped_column(String(255), nullable=True)
    forced_down: Mapped[bool] = mapped_column(Boolean, default=False)
    last_seen_up: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    report_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ComputeNode(Base):
    """A hypervisor as its agent last reported it; ``uuid`` is its resource provider's uuid."""

    __tablename__ = "compute_nodes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    host: Mapped[str] = mapped_column(String(255), index=True)
    hypervisor_hostname: Mapped[str] = mapped_column(String(255), unique=True)
    hypervisor_type: Mapped[str] = mapped_column(String(64), default="fake")
    hypervisor_version: Mapped[int] = mapped_column(Integer, default=0)
    host_ip: Mapped[str] = mapped_column(String(64), default="127.0.0.1")
    cpu_info: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    vcpus: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb: Mapped[int] = mapped_column(Integer, default=0)
    local_gb: Mapped[int] = mapped_column(Integer, default=0)
    vcpus_used: Mapped[int] = mapped_column(Integer, default=0)
    memory_mb_used: Mapped[int] = mapped_column(Integer, default=0)
    local_gb_used: Mapped[int] = mapped_column(Integer, default=0)
    running_vms: Mapped[int] = mapped_column(Integer, default=0)
    cpu_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    ram_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    disk_allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)
    started_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)  # for os-hypervisors uptime
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class Aggregate(Base):
    __tablename__ = "compute_aggregates"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)

    hosts: Mapped[list[AggregateHost]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")
    metadata_items: Mapped[list[AggregateMetadata]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="selectin")


class AggregateHost(Base):
    __tablename__ = "compute_aggregate_hosts"

    aggregate_id: Mapped[int] = mapped_column(ForeignKey("compute_aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    host: Mapped[str] = mapped_column(String(255), primary_key=True)


class AggregateMetadata(Base):
    __tablename__ = "compute_aggregate_metadata"

    aggregate_id: Mapped[int] = mapped_column(ForeignKey("compute_aggregates.id", ondelete="CASCADE"),
                                              primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class Migration(Base):
    """A resize, cold migration, live migration or evacuation of one server."""

    __tablename__ = "compute_migrations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    project_id: Mapped[str] = mapped_column(String(255))
    user_id: Mapped[str] = mapped_column(String(255))
    migration_type: Mapped[str] = mapped_column(String(32))  # resize, migration, live-migration, evacuation
    status: Mapped[str] = mapped_column(String(32))
    source_compute: Mapped[str | None] = mapped_column(String(255), nullable=True)
    source_node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dest_compute: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dest_node: Mapped[str | None] = mapped_column(String(255), nullable=True)
    dest_host: Mapped[str | None] = mapped_column(String(255), nullable=True)
    old_flavorid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    new_flavorid: Mapped[str | None] = mapped_column(String(255), nullable=True)
    # Which conductor took the request this row stands for: a repeated cast finds it taken.
    conductor_token: Mapped[str | None] = mapped_column(String(36), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
    updated_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class ConsoleAuthToken(Base):
    """A remote-console token the noVNC proxy accepts until it expires (Nova's console_auth_tokens).

    Only the token's SHA-256 is kept, as Nova does: a database dump lets nobody into a console.
    """

    __tablename__ = "compute_console_auth_tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    instance_uuid: Mapped[str] = mapped_column(String(36), index=True)
    console_type: Mapped[str] = mapped_column(String(32))
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    internal_access_path: Mapped[str | None] = mapped_column(String(255), nullable=True)
    expires: Mapped[int] = mapped_column(Integer, index=True)  # unix seconds


class BlockDeviceMapping(Base):
    """A volume of a server (Nova's block_device_mapping): attached through the os-volume_attachments
    API, or asked for at boot (block_device_mapping_v2). ``attachment_id`` is the block-storage
    service's attachment; ``connection_info`` what it answered for the server's host."""

    __tablename__ = "compute_block_device_mappings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    instance_uuid: Mapped[str] = mapped_column(ForeignKey("compute_instances.uuid", ondelete="CASCADE"),
                                               index=True)
    source_type: Mapped[str] = mapped_column(String(32), default="volume")  # image, volume, snapshot, blank
    destination_type: Mapped[str] = mapped_column(String(32), default="volume")
    boot_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    device_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
    volume_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    snapshot_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    volume_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    volume_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    delete_on_termination: Mapped[bool] = mapped_column(Boolean, default=False)
    tag: Mapped[str | None] = mapped_column(String(60), nullable=True)
    attachment_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    connection_info: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, default=utcnow)
