"""Identity tables. Domains are rows of ``project`` with ``is_domain`` set, as in Keystone,
so that a domain and a project can share the hierarchy and the name rules."""

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

# The parent "domain" of every domain row; never a real id.
ROOT_DOMAIN = "<<keystone.domain.root>>"
# Stands for "no domain" in role.domain_id so the (name, domain_id) unique index works everywhere.
NULL_DOMAIN = "<<null>>"

ID = String(64)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {dict[str, Any]: JSON, list[Any]: JSON}


class Region(Base):
    __tablename__ = "region"
    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    description: Mapped[str] = mapped_column(String(255), default="")
    parent_region_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Service(Base):
    __tablename__ = "service"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(String(255))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # name, description, ...


class Endpoint(Base):
    __tablename__ = "endpoint"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    interface: Mapped[str] = mapped_column(String(8))
    service_id: Mapped[str] = mapped_column(ID, ForeignKey("service.id"), index=True)
    region_id: Mapped[str | None] = mapped_column(String(255), ForeignKey("region.id"), nullable=True)
    url: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Project(Base):
    __tablename__ = "project"
    __table_args__ = (UniqueConstraint("domain_id", "name", name="ixu_project_name_domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(ID, index=True)
    parent_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    is_domain: Mapped[bool] = mapped_column(Boolean, default=False)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProjectTag(Base):
    __tablename__ = "project_tag"
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("project.id", ondelete="CASCADE"), primary_key=True)
    name: Mapped[str] = mapped_column(String(255), primary_key=True)


class User(Base):
    __tablename__ = "user"
    __table_args__ = (UniqueConstraint("domain_id", "name", name="ixu_user_name_domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ID, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    default_project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    last_active_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    failed_auth_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_auth_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)  # email, description, ...
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Password(Base):
    """Every password a user has had, newest last; the newest is the live one."""

    __tablename__ = "password"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("user.id", ondelete="CASCADE"), index=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(DateTime)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    self_service: Mapped[bool] = mapped_column(Boolean, default=False)


class Group(Base):
    __tablename__ = "group"
    __table_args__ = (UniqueConstraint("domain_id", "name", name="ixu_group_name_domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    domain_id: Mapped[str] = mapped_column(ID, index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Membership(Base):
    __tablename__ = "user_group_membership"
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("user.id", ondelete="CASCADE"), primary_key=True)
    group_id: Mapped[str] = mapped_column(ID, ForeignKey("group.id", ondelete="CASCADE"), primary_key=True)


class Role(Base):
    __tablename__ = "role"
    __table_args__ = (UniqueConstraint("name", "domain_id", name="ixu_role_name_domain_id"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    domain_id: Mapped[str] = mapped_column(ID, default=NULL_DOMAIN)
    description: Mapped[str | None] = mapped_column(String(255), nullable=True)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ImpliedRole(Base):
    __tablename__ = "implied_role"
    prior_role_id: Mapped[str] = mapped_column(ID, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)
    implied_role_id: Mapped[str] = mapped_column(ID, ForeignKey("role.id", ondelete="CASCADE"), primary_key=True)


class Assignment(Base):
    """A role granted to a user or group on a project, a domain or the system.

    ``type`` is one of UserProject, GroupProject, UserDomain, GroupDomain, UserSystem,
    GroupSystem; ``target_id`` is "system" for the system scope.
    """

    __tablename__ = "assignment"
    __table_args__ = (Index("ix_assignment_actor", "actor_id"), Index("ix_assignment_target", "target_id"))
    type: Mapped[str] = mapped_column(String(16), primary_key=True)
    actor_id: Mapped[str] = mapped_column(ID, primary_key=True)
    target_id: Mapped[str] = mapped_column(ID, primary_key=True)
    role_id: Mapped[str] = mapped_column(ID, primary_key=True)
    inherited: Mapped[bool] = mapped_column(Boolean, primary_key=True, default=False)


class ApplicationCredential(Base):
    __tablename__ = "application_credential"
    __table_args__ = (UniqueConstraint("user_id", "name", name="ixu_app_cred_user_name"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    secret_hash: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    system: Mapped[str | None] = mapped_column(String(64), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    unrestricted: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    roles: Mapped[list[Any]] = mapped_column(default=list)  # role ids granted to the credential


class AccessRule(Base):
    __tablename__ = "access_rule"
    __table_args__ = (UniqueConstraint("user_id", "service", "path", "method", name="ixu_access_rule"),)
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    service: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(16))


class AppCredAccessRule(Base):
    __tablename__ = "application_credential_access_rule"
    application_credential_id: Mapped[str] = mapped_column(
        ID, ForeignKey("application_credential.id", ondelete="CASCADE"), primary_key=True
    )
    access_rule_id: Mapped[str] = mapped_column(ID, ForeignKey("access_rule.id"), primary_key=True)


class Credential(Base):
    """The blob is encrypted at rest with the credential key repository (Fernet)."""

    __tablename__ = "credential"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    type: Mapped[str] = mapped_column(String(255))
    encrypted_blob: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Trust(Base):
    __tablename__ = "trust"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    trustor_user_id: Mapped[str] = mapped_column(ID, index=True)
    trustee_user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    impersonation: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    remaining_uses: Mapped[int | None] = mapped_column(Integer, nullable=True)
    redelegated_trust_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    redelegation_count: Mapped[int | None] = mapped_column(Integer, nullable=True)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    roles: Mapped[list[Any]] = mapped_column(default=list)  # role ids delegated
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RevocationEvent(Base):
    """Tokens matching every non-null field and issued before ``issued_before`` are invalid."""

    __tablename__ = "revocation_event"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    domain_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    user_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    role_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    trust_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    app_cred_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    audit_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    audit_chain_id: Mapped[str | None] = mapped_column(String(32), nullable=True)
    issued_before: Mapped[datetime] = mapped_column(DateTime, index=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime, index=True)


class ProjectEndpoint(Base):
    __tablename__ = "project_endpoint"
    endpoint_id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, primary_key=True)


class EndpointGroup(Base):
    __tablename__ = "endpoint_group"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    filters: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ProjectEndpointGroup(Base):
    __tablename__ = "project_endpoint_group"
    endpoint_group_id: Mapped[str] = mapped_column(
        ID, ForeignKey("endpoint_group.id", ondelete="CASCADE"), primary_key=True
    )
    project_id: Mapped[str] = mapped_column(ID, primary_key=True)


class RegisteredLimit(Base):
    __tablename__ = "registered_limit"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    service_id: Mapped[str] = mapped_column(ID)
    region_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    default_limit: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class Limit(Base):
    __tablename__ = "limit"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str | None] = mapped_column(ID, nullable=True, index=True)
    domain_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    service_id: Mapped[str] = mapped_column(ID)
    region_id: Mapped[str | None] = mapped_column(String(255), nullable=True)
    resource_name: Mapped[str] = mapped_column(String(255))
    resource_limit: Mapped[int] = mapped_column(Integer)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)


class DomainConfig(Base):
    __tablename__ = "domain_config"
    domain_id: Mapped[str] = mapped_column(ID, primary_key=True)
    group: Mapped[str] = mapped_column(String(255), primary_key=True)
    option: Mapped[str] = mapped_column(String(255), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)  # {"v": value}; JSON keeps the type
    sensitive: Mapped[bool] = mapped_column(Boolean, default=False)


class Policy(Base):
    __tablename__ = "policy"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    type: Mapped[str] = mapped_column(String(255))
    blob: Mapped[str] = mapped_column(Text)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class PolicyAssociation(Base):
    """OS-ENDPOINT-POLICY: a policy bound to an endpoint, a service, or a service in a region."""

    __tablename__ = "policy_association"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    policy_id: Mapped[str] = mapped_column(ID)
    endpoint_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    service_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    region_id: Mapped[str | None] = mapped_column(String(255), nullable=True)


class ServiceState(Base):
    """Small key/value facts the service keeps about itself (e.g. the bootstrap marker)."""

    __tablename__ = "identity_state"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(default=dict)


class Generation(Base):
    """One row counting committed identity writes: every identity process compares it with what
    it last saw (at most once a second) and drops its caches when it moved."""

    __tablename__ = "identity_generation"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(BigInteger, default=0)


# --- OS-OAUTH1 (Keystone's consumer, request_token and access_token tables) ------------------


class Consumer(Base):
    """An OAuth1 client. The secret is kept as given (as Keystone does): HMAC-SHA1 needs it to verify."""

    __tablename__ = "consumer"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    # Text, not Keystone's String(64): its schema sets no maximum, and a longer one must not fail the write.
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    secret: Mapped[str] = mapped_column(String(64))
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)


class RequestToken(Base):
    __tablename__ = "request_token"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    request_secret: Mapped[str] = mapped_column(String(64))
    verifier: Mapped[str | None] = mapped_column(String(64), nullable=True)
    authorizing_user_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    requested_project_id: Mapped[str] = mapped_column(ID)
    role_ids: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    consumer_id: Mapped[str] = mapped_column(ID, ForeignKey("consumer.id"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)


class AccessToken(Base):
    __tablename__ = "access_token"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    access_secret: Mapped[str] = mapped_column(String(64))
    authorizing_user_id: Mapped[str] = mapped_column(ID, index=True)
    project_id: Mapped[str] = mapped_column(ID)
    role_ids: Mapped[list[Any]] = mapped_column(default=list)
    consumer_id: Mapped[str] = mapped_column(ID, ForeignKey("consumer.id"), index=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
# --- OS-FEDERATION -------------------------------------------------------------------------------


class IdentityProvider(Base):
    __tablename__ = "identity_provider"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    domain_id: Mapped[str] = mapped_column(ID, index=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    authorization_ttl: Mapped[int | None] = mapped_column(Integer, nullable=True)


class IdPRemoteId(Base):
    """One remote (entity) id of an IdP; the primary key keeps a remote id to one IdP (409 otherwise)."""

    __tablename__ = "idp_remote_ids"
    remote_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    idp_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_provider.id", ondelete="CASCADE"), index=True)


class FederationProtocol(Base):
    __tablename__ = "federation_protocol"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    idp_id: Mapped[str] = mapped_column(ID, ForeignKey("identity_provider.id", ondelete="CASCADE"),
                                        primary_key=True)
    mapping_id: Mapped[str] = mapped_column(ID)
    remote_id_attribute: Mapped[str | None] = mapped_column(String(64), nullable=True)


class Mapping(Base):
    __tablename__ = "mapping"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    rules: Mapped[list[Any]] = mapped_column(default=list)
    schema_version: Mapped[str] = mapped_column(String(5), default="1.0")


class ServiceProvider(Base):
    __tablename__ = "service_provider"
    id: Mapped[str] = mapped_column(ID, primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean)
    description: Mapped[str | None] = mapped_column(Text, nullable=True)
    auth_url: Mapped[str] = mapped_column(String(256))
    sp_url: Mapped[str] = mapped_column(String(256))
    relay_state_prefix: Mapped[str] = mapped_column(String(256))


class FederatedUser(Base):
    """A user's link to the IdP and protocol that vouched for it (Keystone's shadow record)."""

    __tablename__ = "federated_user"
    __table_args__ = (UniqueConstraint("idp_id", "protocol_id", "unique_id", name="ixu_federated_user"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ID, ForeignKey("user.id", ondelete="CASCADE"), index=True)
    idp_id: Mapped[str] = mapped_column(ID, index=True)
    protocol_id: Mapped[str] = mapped_column(ID)
    unique_id: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str | None] = mapped_column(String(255), nullable=True)
