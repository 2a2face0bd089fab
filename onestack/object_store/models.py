"""Object-storage tables: accounts, containers and the container listings (one row per object
name, tombstones included), the rings, and the devices the object agents report.

Swift keeps accounts and containers in SQLite files replicated across container servers; here
they are rows of the cloud's one database, and only object data lives on the ring's devices.
A listing row carries the object's timestamp: an update older than the row is ignored, so the
object servers' container updates (and their retries from async pendings) can arrive in any
order and any number of times. Container statistics are kept in the same transaction as the rows.

Names sort by their UTF-8 bytes, as Swift's listings do: the name columns use a byte-order
collation on PostgreSQL ("C") and MariaDB (utf8mb4_bin); SQLite's default is already bytewise.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def _bytewise(length: int) -> Any:
    return (String(length)
            .with_variant(String(length, collation="C"), "postgresql")
            .with_variant(mysql.VARCHAR(length, collation="utf8mb4_bin"), "mysql", "mariadb"))


ACCOUNT = 256
CONTAINER = 256
OBJECT = 1024
TIMESTAMP = 40  # Swift's normalized "1700000000.12345" (16) with an optional "_<16 hex>" offset (33)


class Base(DeclarativeBase):
    pass


class Account(Base):
    __tablename__ = "object_accounts"
    name: Mapped[str] = mapped_column(_bytewise(ACCOUNT), primary_key=True)  # "AUTH_<project id>"
    created_at: Mapped[str] = mapped_column(String(TIMESTAMP))  # X-Timestamp of its first PUT/auto-create
    put_timestamp: Mapped[str] = mapped_column(String(TIMESTAMP))
    # X-Account-Meta-*, temp URL keys, quota bytes, ACLs (X-Account-Access-Control): {header: value}
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Container(Base):
    __tablename__ = "object_containers"
    __table_args__ = (UniqueConstraint("account", "name", name="uq_object_containers_account_name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    account: Mapped[str] = mapped_column(_bytewise(ACCOUNT), ForeignKey("object_accounts.name"), index=True)
    name: Mapped[str] = mapped_column(_bytewise(CONTAINER))
    created_at: Mapped[str] = mapped_column(String(TIMESTAMP))
    put_timestamp: Mapped[str] = mapped_column(String(TIMESTAMP))
    storage_policy: Mapped[str] = mapped_column(String(64), default="Policy-0")
    # X-Container-Meta-*, X-Container-Read/Write, X-Versions-Location, sync, quotas...: {header: value}
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    object_count: Mapped[int] = mapped_column(BigInteger, default=0)
    bytes_used: Mapped[int] = mapped_column(BigInteger, default=0)


class ListedObject(Base):
    """One name in a container: the newest state the object servers reported (a tombstone when deleted)."""

    __tablename__ = "object_listing"
    __table_args__ = (
        UniqueConstraint("container_id", "name_hash", name="uq_object_listing_name"),
        Index("ix_object_listing_name", "container_id", "deleted", "name", mysql_length={"name": 255}),
    )
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    container_id: Mapped[int] = mapped_column(ForeignKey("object_containers.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(_bytewise(OBJECT))
    name_hash: Mapped[str] = mapped_column(String(40))  # sha1 of the name: the unique key MariaDB can index
    timestamp: Mapped[str] = mapped_column(String(TIMESTAMP))  # X-Timestamp of the state it records
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    content_type: Mapped[str] = mapped_column(String(256), default="")
    etag: Mapped[str] = mapped_column(String(64), default="")
    # X-Delete-At, for the expirer (None: never).
    delete_at: Mapped[float | None] = mapped_column(Float, nullable=True, index=True)
    # Symlink targets, SLO flags and the like the listing shows (Swift's swift_bytes/symlink_path).
    extra: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RingDevice(Base):
    """A device an object agent serves: where it is, and its place in the ring."""

    __tablename__ = "object_ring_devices"
    __table_args__ = (UniqueConstraint("host", "device", name="uq_object_ring_devices_host_device"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the ring's device id
    host: Mapped[str] = mapped_column(String(255))
    device: Mapped[str] = mapped_column(String(64))
    region: Mapped[int] = mapped_column(Integer, default=1)
    zone: Mapped[int] = mapped_column(Integer, default=1)
    ip: Mapped[str] = mapped_column(String(64), default="127.0.0.1")
    port: Mapped[int] = mapped_column(Integer, default=0)  # 0: served in-process only
    weight: Mapped[float] = mapped_column(Float, default=100.0)  # as its agent last reported it
    last_seen: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    # ``onestack ring set-weight``: wins over the reported weight until the operator clears it.
    operator_weight: Mapped[float | None] = mapped_column(Float, nullable=True)
    # ``onestack ring remove``: left out of every ring build, whatever its agent reports, until
    # ``onestack ring add`` (a marker, not a deleted row, so a re-report cannot bring it back).
    removed: Mapped[bool] = mapped_column(Boolean, default=False)


class Ring(Base):
    """The built ring (``ring/builder.py``): partition → devices per replica, one row per version."""

    __tablename__ = "object_rings"
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(32), default="object")
    created_at: Mapped[datetime] = mapped_column(DateTime)
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    # The builder's state beside the ring (Swift keeps it in the .builder file, not the ring): per
    # partition, the Unix time its replicas last changed (0: not since it was first placed), for
    # ``min_part_hours``. Deferred: the proxies' ring reloads never read it.
    part_moved_at: Mapped[list[int] | None] = mapped_column(JSON, nullable=True, deferred=True)
