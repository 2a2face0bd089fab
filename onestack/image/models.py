"""Image tables: images, their custom properties, tags, members, and metadata definitions."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Image(Base):
    __tablename__ = "images"
    __table_args__ = (Index("ix_images_owner_visibility", "owner", "visibility"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True)  # uuid4 with dashes, as Glance
    name: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    disk_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    container_format: Mapped[str | None] = mapped_column(String(20), nullable=True)
    size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    virtual_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    status: Mapped[str] = mapped_column(String(30), index=True)
    visibility: Mapped[str] = mapped_column(String(20), default="shared")
    checksum: Mapped[str | None] = mapped_column(String(32), nullable=True)
    os_hash_algo: Mapped[str | None] = mapped_column(String(64), nullable=True)
    os_hash_value: Mapped[str | None] = mapped_column(String(128), nullable=True, index=True)
    min_disk: Mapped[int] = mapped_column(Integer, default=0)
    min_ram: Mapped[int] = mapped_column(Integer, default=0)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    os_hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str | None] = mapped_column(String(255), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime, index=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # Where the bytes are: [{"store": "file", "url": "file:///...", "metadata": {}}].
    locations: Mapped[list[Any]] = mapped_column(default=list)
    # Import bookkeeping: os_glance_* reserved properties, staging info, failure reasons.
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class DataLease(Base):
    """An upload, stage, import or copy in progress: who runs it and when it last said so.

    Written in the same transaction as the image's move into saving/uploading/importing (or
    the copy task's creation) and deleted in the one that moves it out, so an image in a busy
    status without a live lease was cut off by a crash (service/recovery.py).
    """

    __tablename__ = "image_data_leases"
    token: Mapped[str] = mapped_column(String(32), primary_key=True)  # also names the temp files
    image_id: Mapped[str] = mapped_column(String(36), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # upload | stage | import | copy
    task_id: Mapped[str | None] = mapped_column(String(36), nullable=True)
    node: Mapped[str] = mapped_column(String(64))  # host + pid namespace (service/leases.py)
    pid: Mapped[int] = mapped_column(Integer)
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime)


class ImageProperty(Base):
    """A custom (non-core) property; a table of its own so that list filters can use it."""

    __tablename__ = "image_properties"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ImageTag(Base):
    __tablename__ = "image_tags"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ImageMember(Base):
    __tablename__ = "image_members"
    image_id: Mapped[str] = mapped_column(String(36), ForeignKey("images.id", ondelete="CASCADE"), primary_key=True)
    member: Mapped[str] = mapped_column(String(255), primary_key=True, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Task(Base):
    """Image tasks (``/v2/tasks`` and an image's import history)."""

    __tablename__ = "tasks"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    type: Mapped[str] = mapped_column(String(30))
    status: Mapped[str] = mapped_column(String(30))
    owner: Mapped[str] = mapped_column(String(255), index=True)
    image_id: Mapped[str | None] = mapped_column(String(36), nullable=True, index=True)
    input: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    message: Mapped[str] = mapped_column(Text, default="")
    request_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    user_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class MetadefNamespace(Base):
    __tablename__ = "metadef_namespaces"
    namespace: Mapped[str] = mapped_column(String(80), primary_key=True)
    display_name: Mapped[str | None] = mapped_column(String(80), nullable=True)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    visibility: Mapped[str] = mapped_column(String(32), default="private")
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    owner: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class MetadefResourceType(Base):
    __tablename__ = "metadef_resource_types"
    name: Mapped[str] = mapped_column(String(80), primary_key=True)
    protected: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class MetadefNamespaceResourceType(Base):
    __tablename__ = "metadef_namespace_resource_types"
    namespace: Mapped[str] = mapped_column(
        String(80), ForeignKey("metadef_namespaces.namespace", ondelete="CASCADE"), primary_key=True
    )
    resource_type: Mapped[str] = mapped_column(String(80), primary_key=True)
    properties_target: Mapped[str | None] = mapped_column(String(80), nullable=True)
    prefix: Mapped[str | None] = mapped_column(String(80), nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class MetadefEntry(Base):
    """A namespace's objects, properties and tags: ``kind`` says which; ``body`` holds the rest."""

    __tablename__ = "metadef_entries"
    __table_args__ = (UniqueConstraint("namespace", "kind", "name", name="ixu_metadef_entry"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    namespace: Mapped[str] = mapped_column(String(80), ForeignKey("metadef_namespaces.namespace", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # object | property | tag
    name: Mapped[str] = mapped_column(String(255))
    body: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)
