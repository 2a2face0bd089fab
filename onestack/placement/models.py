"""Placement tables: providers (trees), inventories, allocations, consumers, classes, traits, aggregates."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


class Base(DeclarativeBase):
    pass


class ResourceProvider(Base):
    __tablename__ = "placement_resource_providers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Bumped on every change to the provider or what hangs off it; the claim path
    # updates it conditionally (compare-and-swap), which makes claims atomic.
    generation: Mapped[int] = mapped_column(Integer, default=0)
    root_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("placement_resource_providers.id"), nullable=True, index=True)
    parent_provider_id: Mapped[int | None] = mapped_column(
        ForeignKey("placement_resource_providers.id"), nullable=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class ResourceClass(Base):
    __tablename__ = "placement_resource_classes"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Inventory(Base):
    __tablename__ = "placement_inventories"
    __table_args__ = (UniqueConstraint("resource_provider_id", "resource_class_id", name="uq_placement_inventory"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("placement_resource_providers.id", ondelete="CASCADE"), index=True)
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("placement_resource_classes.id"), index=True)
    total: Mapped[int] = mapped_column(Integer)
    reserved: Mapped[int] = mapped_column(Integer, default=0)
    min_unit: Mapped[int] = mapped_column(Integer, default=1)
    max_unit: Mapped[int] = mapped_column(Integer)
    step_size: Mapped[int] = mapped_column(Integer, default=1)
    allocation_ratio: Mapped[float] = mapped_column(Float, default=1.0)


class Consumer(Base):
    __tablename__ = "placement_consumers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    uuid: Mapped[str] = mapped_column(String(36), unique=True)
    project_id: Mapped[str] = mapped_column(String(255), index=True)
    user_id: Mapped[str] = mapped_column(String(255), index=True)
    consumer_type: Mapped[str | None] = mapped_column(String(255), nullable=True)
    generation: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    updated_at: Mapped[datetime] = mapped_column(DateTime)


class Allocation(Base):
    __tablename__ = "placement_allocations"
    __table_args__ = (Index("ix_placement_alloc_rp_rc", "resource_provider_id", "resource_class_id"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    resource_provider_id: Mapped[int] = mapped_column(ForeignKey("placement_resource_providers.id"))
    consumer_id: Mapped[str] = mapped_column(String(36), index=True)  # the consumer's uuid
    resource_class_id: Mapped[int] = mapped_column(ForeignKey("placement_resource_classes.id"))
    used: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class Trait(Base):
    __tablename__ = "placement_traits"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)


class ProviderTrait(Base):
    __tablename__ = "placement_provider_traits"
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("placement_resource_providers.id", ondelete="CASCADE"), primary_key=True)
    trait_id: Mapped[int] = mapped_column(ForeignKey("placement_traits.id"), primary_key=True, index=True)


class ProviderAggregate(Base):
    __tablename__ = "placement_provider_aggregates"
    resource_provider_id: Mapped[int] = mapped_column(
        ForeignKey("placement_resource_providers.id", ondelete="CASCADE"), primary_key=True)
    aggregate_uuid: Mapped[str] = mapped_column(String(36), primary_key=True, index=True)
