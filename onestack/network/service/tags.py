"""Tags of every taggable resource, one generic module: a table from the URL's collection to the
resource's model, tag type, visibility and not-found error. A tag change is a change to the
resource (a new ``revision_number``).

The tag type of each resource (the ``resource_type`` of its ``network_tags`` rows, which its own
service reads with ``tags_of``) is its collection name with underscores. Who sees a resource is
its own service's ``visible`` where that service has one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from onestack.network import errors, models
from onestack.network.service import networks, ports, security_groups, subnets
from onestack.network.service.common import Caller, tags_of, touch


@dataclass(frozen=True)
class Taggable:
    tag_type: str
    model: Any
    not_found: Callable[[str], errors.NeutronError]
    # The condition on ``model`` of rows a non-admin caller sees.
    visible: Callable[[Caller], Any]


def _own(model: Any) -> Callable[[Caller], Any]:
    return lambda caller: model.project_id == caller.project_id


def _own_or_shared(model: Any) -> Callable[[Caller], Any]:
    return lambda caller: or_(model.project_id == caller.project_id, model.shared.is_(True))


TAGGABLE: dict[str, Taggable] = {
    "networks": Taggable("networks", models.Network, errors.NetworkNotFound, networks.visible),
    "subnets": Taggable("subnets", models.Subnet, errors.SubnetNotFound, subnets.visible),
    "ports": Taggable("ports", models.Port, errors.PortNotFound, ports.visible),
    "routers": Taggable("routers", models.Router, errors.RouterNotFound, _own(models.Router)),
    "floatingips": Taggable("floatingips", models.FloatingIP, errors.FloatingIPNotFound, _own(models.FloatingIP)),
    "security-groups": Taggable("security_groups", models.SecurityGroup, errors.SecurityGroupNotFound,
                                security_groups.visible),
    "subnetpools": Taggable("subnetpools", models.SubnetPool, errors.SubnetPoolNotFound,
                            _own_or_shared(models.SubnetPool)),
    "address-scopes": Taggable("address_scopes", models.AddressScope, errors.AddressScopeNotFound,
                               _own_or_shared(models.AddressScope)),
}


def resource(s: Session, caller: Caller, collection: str, resource_id: str) -> Any:
    """The tagged resource if ``caller`` sees it, else 404 as the resource's own NotFound."""
    kind = TAGGABLE[collection]
    stmt = select(kind.model).where(kind.model.id == resource_id)
    if not caller.is_admin:
        stmt = stmt.where(kind.visible(caller))
    row = s.scalar(stmt)
    if row is None:
        raise kind.not_found(resource_id)
    return row


def owner(s: Session, caller: Caller, collection: str, resource_id: str) -> str:
    """The resource's project (the policy target of a tag change); 404 unless visible."""
    return str(resource(s, caller, collection, resource_id).project_id)


def get_all(s: Session, caller: Caller, collection: str, resource_id: str) -> list[str]:
    row = resource(s, caller, collection, resource_id)
    return tags_of(s, TAGGABLE[collection].tag_type, [row.id])[row.id]


def has(s: Session, caller: Caller, collection: str, resource_id: str, tag: str) -> None:
    """Nothing if the resource has ``tag``; 404 ``TagNotFound`` if not."""
    if tag not in get_all(s, caller, collection, resource_id):
        raise errors.TagNotFound(tag, resource_id)


def _rows(collection: str, resource_id: str) -> Any:
    t = models.Tag
    return delete(t).where(t.resource_type == TAGGABLE[collection].tag_type, t.resource_id == resource_id)


def replace(s: Session, caller: Caller, collection: str, resource_id: str, tags: Sequence[str]) -> list[str]:
    row = resource(s, caller, collection, resource_id)
    current = tags_of(s, TAGGABLE[collection].tag_type, [row.id])[row.id]
    if sorted(set(tags)) != current:
        s.execute(_rows(collection, row.id))
        for tag in set(tags):
            s.add(models.Tag(resource_type=TAGGABLE[collection].tag_type, resource_id=row.id, tag=tag))
        touch(row)
    s.flush()
    return sorted(set(tags))


def add(s: Session, caller: Caller, collection: str, resource_id: str, tag: str) -> None:
    row = resource(s, caller, collection, resource_id)
    if tag not in tags_of(s, TAGGABLE[collection].tag_type, [row.id])[row.id]:
        s.add(models.Tag(resource_type=TAGGABLE[collection].tag_type, resource_id=row.id, tag=tag))
        touch(row)
    s.flush()


def remove_all(s: Session, caller: Caller, collection: str, resource_id: str) -> None:
    row = resource(s, caller, collection, resource_id)
    if tags_of(s, TAGGABLE[collection].tag_type, [row.id])[row.id]:
        s.execute(_rows(collection, row.id))
        touch(row)
    s.flush()


def remove(s: Session, caller: Caller, collection: str, resource_id: str, tag: str) -> None:
    row = resource(s, caller, collection, resource_id)
    if tag not in tags_of(s, TAGGABLE[collection].tag_type, [row.id])[row.id]:
        raise errors.TagNotFound(tag, resource_id)
    t = models.Tag
    s.execute(delete(t).where(t.resource_type == TAGGABLE[collection].tag_type, t.resource_id == row.id,
                              t.tag == tag))
    touch(row)
    s.flush()
