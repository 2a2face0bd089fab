"""OS-FEDERATION: identity providers, their protocols, attribute mappings and service providers.

Keystone's manager and SQL driver, in one place: an IdP without a domain gets a domain of its
own; a remote id belongs to one IdP (409); deleting an IdP or a protocol removes the shadow
records of the users it vouched for, and users left with no other way in.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.core.api.faults import BadRequest, Conflict, Forbidden, NotFound
from onestack.core.ids import new_id
from onestack.identity.models import (
    FederatedUser,
    FederationProtocol,
    IdentityProvider,
    IdPRemoteId,
    Mapping,
    Password,
    ServiceProvider,
)
from onestack.identity.service import projects, users


class IdentityProviderNotFound(NotFound):
    def __init__(self, idp_id: str | None) -> None:
        super().__init__(f"Could not find Identity Provider: {idp_id}.")


def _check_id(kind: str, value: str) -> None:
    # Keystone's columns hold 64 characters; a longer id in the path is bad input, not a 500.
    if len(value) > 64:
        raise BadRequest(f"Invalid input for field '{kind}': '{value}' is too long")


# --- identity providers ---------------------------------------------------------------------


def remote_ids_of(s: Session, idp_id: str) -> list[str]:
    return list(s.scalars(select(IdPRemoteId.remote_id).where(IdPRemoteId.idp_id == idp_id)
                          .order_by(IdPRemoteId.remote_id)))


def idp_to_dict(s: Session, idp: IdentityProvider) -> dict[str, Any]:
    return {"id": idp.id, "domain_id": idp.domain_id, "enabled": idp.enabled, "description": idp.description,
            "remote_ids": remote_ids_of(s, idp.id), "authorization_ttl": idp.authorization_ttl}


def get_idp(s: Session, idp_id: str | None) -> IdentityProvider:
    row = s.get(IdentityProvider, idp_id) if idp_id else None
    if row is None:
        raise IdentityProviderNotFound(idp_id)
    return row


def _listed(s: Session, model: type[IdentityProvider | ServiceProvider], query: dict[str, str]) -> list[Any]:
    """IdPs or SPs, by id, filtered on ``id`` and ``enabled`` (the two filters Keystone takes for both)."""
    stmt = select(model).order_by(model.id)
    if "id" in query:
        stmt = stmt.where(model.id == query["id"])
    if "enabled" in query:
        stmt = stmt.where(model.enabled.is_(projects.filter_flag(query["enabled"])))
    return list(s.scalars(stmt))


def list_idps(s: Session, query: dict[str, str]) -> list[dict[str, Any]]:
    return [idp_to_dict(s, row) for row in _listed(s, IdentityProvider, query)]


def _set_remote_ids(s: Session, idp_id: str, remote_ids: list[str] | None) -> None:
    s.execute(delete(IdPRemoteId).where(IdPRemoteId.idp_id == idp_id))
    s.flush()
    for remote_id in dict.fromkeys(remote_ids or []):
        if s.get(IdPRemoteId, remote_id) is not None:
            raise Conflict(f"Conflict occurred attempting to store identity_provider - "
                           f"Duplicate remote ID: {remote_id}.")
        s.add(IdPRemoteId(remote_id=remote_id, idp_id=idp_id))
    s.flush()


def create_idp(s: Session, idp_id: str, data: dict[str, Any]) -> dict[str, Any]:
    _check_id("idp_id", idp_id)
    if s.get(IdentityProvider, idp_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store identity_provider - Duplicate entry: {idp_id}.")
    domain_id = data.get("domain_id")
    if domain_id:
        projects.get_domain(s, domain_id)
    else:
        # Keystone's auto-created domain: named by its id, described after the IdP.
        domain_id = new_id()
        projects.create_domain(s, {"name": domain_id, "enabled": True, "description":
                                   f"Auto generated federated domain for Identity Provider: {idp_id}"},
                               domain_id)
    row = IdentityProvider(id=idp_id, domain_id=domain_id, enabled=data.get("enabled", False),
                           description=data.get("description"), authorization_ttl=data.get("authorization_ttl"))
    s.add(row)
    s.flush()
    # A conflicting remote id rolls the whole transaction back, the new domain with it.
    _set_remote_ids(s, idp_id, data.get("remote_ids"))
    return idp_to_dict(s, row)


def show_idp(s: Session, idp_id: str) -> dict[str, Any]:
    return idp_to_dict(s, get_idp(s, idp_id))


def update_idp(s: Session, idp_id: str, data: dict[str, Any]) -> dict[str, Any]:
    row = get_idp(s, idp_id)
    for attr in ("enabled", "description", "authorization_ttl"):
        if attr in data:
            setattr(row, attr, data[attr])
    if "remote_ids" in data:
        _set_remote_ids(s, idp_id, data["remote_ids"])
    s.flush()
    return idp_to_dict(s, row)


def delete_idp(s: Session, idp_id: str) -> None:
    get_idp(s, idp_id)
    s.execute(delete(FederationProtocol).where(FederationProtocol.idp_id == idp_id))
    s.execute(delete(IdPRemoteId).where(IdPRemoteId.idp_id == idp_id))
    s.execute(delete(IdentityProvider).where(IdentityProvider.id == idp_id))
    _drop_shadow_users(s, FederatedUser.idp_id == idp_id)


def delete_idps_of_domain(s: Session, domain_id: str) -> None:
    """Deleting a domain deletes the IdPs whose users it holds, as Keystone's DOMAIN_DELETED callback does."""
    for idp_id in list(s.scalars(select(IdentityProvider.id).where(IdentityProvider.domain_id == domain_id))):
        delete_idp(s, idp_id)


def _drop_shadow_users(s: Session, which: Any) -> None:
    """Remove shadow records matching ``which``; users left with no other record and no password go too."""
    affected = set(s.scalars(select(FederatedUser.user_id).where(which)))
    s.execute(delete(FederatedUser).where(which))
    if not affected:
        return
    still_linked = set(s.scalars(select(FederatedUser.user_id).where(FederatedUser.user_id.in_(affected))))
    with_password = set(s.scalars(select(Password.user_id).where(Password.user_id.in_(affected))))
    users.delete_users(s, sorted(affected - still_linked - with_password))


# --- protocols ------------------------------------------------------------------------------


def protocol_to_dict(p: FederationProtocol) -> dict[str, Any]:
    return {"id": p.id, "idp_id": p.idp_id, "mapping_id": p.mapping_id, "remote_id_attribute": p.remote_id_attribute}


def get_protocol(s: Session, idp_id: str, protocol_id: str) -> FederationProtocol:
    row = s.get(FederationProtocol, (protocol_id, idp_id))
    if row is None:
        raise NotFound(f"Could not find federated protocol {protocol_id} for Identity Provider: {idp_id}.")
    return row


def _mapping_must_exist(s: Session, mapping_id: str) -> None:
    if s.get(Mapping, mapping_id) is None:
        raise BadRequest(f"Invalid mapping id: {mapping_id}")


def create_protocol(s: Session, idp_id: str, protocol_id: str, data: dict[str, Any]) -> dict[str, Any]:
    _check_id("protocol_id", protocol_id)
    _mapping_must_exist(s, data["mapping_id"])
    get_idp(s, idp_id)
    if s.get(FederationProtocol, (protocol_id, idp_id)) is not None:
        raise Conflict(f"Conflict occurred attempting to store federation_protocol - "
                       f"Duplicate entry found with ID {protocol_id}.")
    row = FederationProtocol(id=protocol_id, idp_id=idp_id, mapping_id=data["mapping_id"],
                             remote_id_attribute=data.get("remote_id_attribute"))
    s.add(row)
    s.flush()
    return protocol_to_dict(row)


def show_protocol(s: Session, idp_id: str, protocol_id: str) -> dict[str, Any]:
    return protocol_to_dict(get_protocol(s, idp_id, protocol_id))


def list_protocols(s: Session, idp_id: str) -> list[dict[str, Any]]:
    # Keystone lists an unknown IdP's protocols as an empty list.
    stmt = select(FederationProtocol).where(FederationProtocol.idp_id == idp_id).order_by(FederationProtocol.id)
    return [protocol_to_dict(p) for p in s.scalars(stmt)]


def update_protocol(s: Session, idp_id: str, protocol_id: str, data: dict[str, Any]) -> dict[str, Any]:
    _mapping_must_exist(s, data["mapping_id"])
    row = get_protocol(s, idp_id, protocol_id)
    row.mapping_id = data["mapping_id"]
    if "remote_id_attribute" in data:
        row.remote_id_attribute = data["remote_id_attribute"]
    s.flush()
    return protocol_to_dict(row)


def delete_protocol(s: Session, idp_id: str, protocol_id: str) -> None:
    s.delete(get_protocol(s, idp_id, protocol_id))
    s.flush()
    _drop_shadow_users(s, (FederatedUser.idp_id == idp_id) & (FederatedUser.protocol_id == protocol_id))


# --- mappings -------------------------------------------------------------------------------


def mapping_to_dict(m: Mapping) -> dict[str, Any]:
    return {"id": m.id, "rules": m.rules, "schema_version": m.schema_version}


def get_mapping(s: Session, mapping_id: str) -> Mapping:
    row = s.get(Mapping, mapping_id)
    if row is None:
        raise NotFound(f"Could not find mapping: {mapping_id}.")
    return row


def list_mappings(s: Session) -> list[dict[str, Any]]:
    return [mapping_to_dict(m) for m in s.scalars(select(Mapping).order_by(Mapping.id))]


def create_mapping(s: Session, mapping_id: str, data: dict[str, Any]) -> dict[str, Any]:
    _check_id("mapping_id", mapping_id)
    if s.get(Mapping, mapping_id) is not None:
        raise Conflict("Conflict occurred attempting to store mapping - Duplicate entry.")
    row = Mapping(id=mapping_id, rules=data.get("rules"), schema_version=data["schema_version"])
    s.add(row)
    s.flush()
    return mapping_to_dict(row)


def update_mapping(s: Session, mapping_id: str, data: dict[str, Any]) -> dict[str, Any]:
    row = get_mapping(s, mapping_id)
    row.rules = data.get("rules") or []
    row.schema_version = data["schema_version"]
    s.flush()
    return mapping_to_dict(row)


def delete_mapping(s: Session, mapping_id: str) -> None:
    s.delete(get_mapping(s, mapping_id))


# --- service providers ----------------------------------------------------------------------


SP_FIELDS = ("auth_url", "sp_url", "description", "enabled", "relay_state_prefix")


def sp_to_dict(sp: ServiceProvider) -> dict[str, Any]:
    return {"id": sp.id, **{f: getattr(sp, f) for f in SP_FIELDS}}


def get_sp(s: Session, sp_id: str) -> ServiceProvider:
    row = s.get(ServiceProvider, sp_id)
    if row is None:
        raise NotFound(f"Could not find Service Provider: {sp_id}.")
    return row


def show_sp(s: Session, sp_id: str) -> dict[str, Any]:
    return sp_to_dict(get_sp(s, sp_id))


def list_sps(s: Session, query: dict[str, str]) -> list[dict[str, Any]]:
    return [sp_to_dict(row) for row in _listed(s, ServiceProvider, query)]


def create_sp(s: Session, sp_id: str, data: dict[str, Any], relay_state_prefix: str) -> dict[str, Any]:
    _check_id("sp_id", sp_id)
    if s.get(ServiceProvider, sp_id) is not None:
        raise Conflict(f"Conflict occurred attempting to store service_provider - "
                       f"Duplicate entry found with ID {sp_id}.")
    row = ServiceProvider(id=sp_id, auth_url=data["auth_url"], sp_url=data["sp_url"],
                          description=data.get("description"), enabled=data.get("enabled", False),
                          relay_state_prefix=data.get("relay_state_prefix") or relay_state_prefix)
    s.add(row)
    s.flush()
    return sp_to_dict(row)


def update_sp(s: Session, sp_id: str, data: dict[str, Any]) -> dict[str, Any]:
    row = get_sp(s, sp_id)
    for attr in SP_FIELDS:
        if attr in data and not (attr == "relay_state_prefix" and data[attr] is None):
            setattr(row, attr, data[attr])
    s.flush()
    return sp_to_dict(row)


def delete_sp(s: Session, sp_id: str) -> None:
    s.delete(get_sp(s, sp_id))


def enabled_service_providers(s: Session) -> list[dict[str, str]]:
    """What a token lists under ``service_providers``: every enabled SP's id, auth_url and sp_url."""
    stmt = select(ServiceProvider).where(ServiceProvider.enabled.is_(True)).order_by(ServiceProvider.id)
    return [{"auth_url": sp.auth_url, "id": sp.id, "sp_url": sp.sp_url} for sp in s.scalars(stmt)]


# --- what the authentication paths check before they find no assertion -------------------------


FORBIDDEN = "You are not authorized to perform the requested action."


def expecting(attribute: str, target: str) -> BadRequest:
    """Keystone's ValidationError for a missing attribute."""
    return BadRequest(f"Expecting to find {attribute} in {target}. The server could not comply with the request "
                      "since it is either malformed or otherwise incorrect. The client is assumed to be in error.")


def check_mapped(s: Session, idp_id: str, protocol_id: str) -> None:
    """Keystone's order for a ``mapped`` authentication: an enabled IdP (404, 403), its protocol, its mapping (404).

    What follows in Keystone (the assertion against the mapping's rules) never matches with no
    assertion, so the caller answers 401.
    """
    if not get_idp(s, idp_id).enabled:
        raise Forbidden(FORBIDDEN)
    get_mapping(s, get_protocol(s, idp_id, protocol_id).mapping_id)


def check_saml_service_provider(s: Session, sp_id: str) -> None:
    if not get_sp(s, sp_id).enabled:
        raise Forbidden(FORBIDDEN)


def check_saml_token(token: dict[str, Any]) -> None:
    if "project" not in token:
        raise Forbidden(f"{FORBIDDEN[:-1]}: Use a project scoped token when attempting to create a SAML assertion.")
