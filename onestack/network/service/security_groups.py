"""Security groups. Every project has one ``default`` group, made on first use (the first port,
the first listing or creation of groups); new groups get their first rules from the template of
default rules (Neutron's: all egress, and for default groups ingress from the group itself). Groups are seen by their project and by those an RBAC policy shares them
with (``access_as_shared``); ``shared`` in the view says whether that is so for the caller.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from typing import Any, cast

from sqlalchemy import Select, Table, bindparam, delete, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from onestack.core.db import RetryInNewTransaction
from onestack.network import models
from onestack.network.errors import (
    SecurityGroupCannotRemoveDefault,
    SecurityGroupCannotUpdateDefault,
    SecurityGroupInUse,
    SecurityGroupNotFound,
)
from onestack.network.service import default_security_group_rules, quotas, security_group_rules
from onestack.network.service.common import (
    Caller,
    Listing,
    ListQuery,
    check_revision,
    delete_tags,
    new_id,
    paged,
    rbac_granted,
    stamp_new,
    standard_view,
    tags_of,
    touch,
)

SG = models.SecurityGroup
TAG_TYPE = "security_groups"


def _add_rules(s: Session, project_id: str, group_id: str, *, default_group: bool) -> None:
    """The template's rules for the new group (default_security_group_rules.py)."""
    for rule in default_security_group_rules.rules_for(s, group_id, default_group=default_group):
        s.add(security_group_rules.new_row(project_id, group_id, rule))


# Built once, Core: every port create of a project asks it (``ensure_default`` flushes what it adds).
_DEFAULTS = cast(Table, models.DefaultSecurityGroup.__table__).c
_DEFAULT_OF = select(_DEFAULTS.security_group_id).where(_DEFAULTS.project_id == bindparam("project"))


def default_of(s: Session, project_id: str) -> str | None:
    found = s.scalar(_DEFAULT_OF, {"project": project_id})
    return None if found is None else str(found)


def ensure_default(s: Session, project_id: str) -> str:
    """The id of ``project_id``'s default group, made now if it has none.

    Two first uses racing both try to insert the project's ``network_default_security_groups``
    row; its primary key lets one win, and the loser reads the winner's group (on MySQL/MariaDB in
    a new transaction: the loser's own cannot see it).
    """
    found = default_of(s, project_id)
    if found is not None:
        return found
    group_id = new_id()
    # SQLite has one writer, so no race to lose, and pysqlite's SAVEPOINT handling is unreliable.
    sqlite = s.get_bind().dialect.name == "sqlite"
    try:
        with nullcontext() if sqlite else s.begin_nested():
            group = SG(id=group_id, project_id=project_id, name="default", description="Default security group",
                       stateful=True)
            stamp_new(group)
            s.add(group)
            s.flush()
            s.add(models.DefaultSecurityGroup(project_id=project_id, security_group_id=group_id))
            _add_rules(s, project_id, group_id, default_group=True)
            s.flush()
    except IntegrityError as exc:
        found = default_of(s, project_id)
        if found is None:
            if s.get_bind().dialect.name == "mysql":
                # REPEATABLE READ: this transaction's snapshot predates the winner's row, so no reread
                # here can see it; a new transaction does (core.db runs the unit of work again).
                raise RetryInNewTransaction(exc) from None
            raise
        return found
    return group_id


# --- visibility and views ------------------------------------------------------------------------------


def _shared(caller: Caller) -> Any:
    return rbac_granted("security_group", SG.id, "access_as_shared", caller.project_id)


def visible(caller: Caller) -> Any:
    """Groups ``caller`` may see: their own and those shared with them (or with everyone)."""
    if caller.is_admin:
        return None
    return or_(SG.project_id == caller.project_id, _shared(caller))


def _visible_stmt(caller: Caller) -> Select[Any]:
    cond = visible(caller)
    return select(SG) if cond is None else select(SG).where(cond)


def listing(caller: Caller) -> Listing:
    return Listing(
        tag_type=TAG_TYPE, id_column=SG.id,
        columns={"id": SG.id, "name": SG.name, "project_id": SG.project_id, "tenant_id": SG.project_id,
                 "stateful": SG.stateful, "description": SG.description, "revision_number": SG.revision_number,
                 "created_at": SG.created_at, "updated_at": SG.updated_at},
        conditions={"shared": lambda values: _shared(caller) if all(values) else
                    (~_shared(caller) if not any(values) else SG.id.is_not(None))},
    )


def get_row(s: Session, caller: Caller, group_id: str) -> models.SecurityGroup:
    """The group if ``caller`` may see it, else 404 ``SecurityGroupNotFound``."""
    row: models.SecurityGroup | None = s.scalar(_visible_stmt(caller).where(SG.id == group_id))
    if row is None:
        raise SecurityGroupNotFound(group_id)
    return row


def views(s: Session, caller: Caller, rows: Sequence[models.SecurityGroup]) -> list[dict[str, Any]]:
    """The API view of each group with its rules; one query per related table for the whole page."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    r = models.RbacPolicy
    targets = ["*"] if caller.project_id is None else ["*", caller.project_id]
    shared = set(s.scalars(select(r.object_id).where(r.object_type == "security_group", r.object_id.in_(ids),
                                                     r.action == "access_as_shared",
                                                     r.target_project.in_(targets))))
    rules = security_group_rules.of_groups(s, ids)
    tags = tags_of(s, TAG_TYPE, ids)
    return [{"id": row.id, "name": row.name, "project_id": row.project_id, "tenant_id": row.project_id,
             "stateful": row.stateful, "shared": row.id in shared, "security_group_rules": rules[row.id],
             "tags": tags[row.id], **standard_view(row)} for row in rows]


def list_groups(s: Session, caller: Caller, q: ListQuery) -> list[dict[str, Any]]:
    return views(s, caller, paged(s, _visible_stmt(caller), listing(caller), q, SG))


def show(s: Session, caller: Caller, group_id: str) -> dict[str, Any]:
    return views(s, caller, [get_row(s, caller, group_id)])[0]


def changed(group: models.SecurityGroup) -> None:
    """A change to the group or its rules: a new revision (Neutron bumps the group on rule changes)."""
    touch(group)


def ports_using(s: Session, group_id: str) -> Any:
    psg = models.PortSecurityGroup
    return s.scalar(select(psg.port_id).where(psg.security_group_id == group_id).limit(1))


# --- changes ---------------------------------------------------------------------------------------------


def create(s: Session, caller: Caller, project_id: str, attrs: Mapping[str, Any]) -> dict[str, Any]:
    """A group for ``project_id``; the project's default group is made first, as Neutron does."""
    ensure_default(s, project_id)
    quotas.check(s, project_id, "security_group")
    row = SG(id=new_id(), project_id=project_id, name=attrs.get("name") or "",
             description=attrs.get("description") or "", stateful=attrs.get("stateful", True))
    stamp_new(row)
    s.add(row)
    s.flush()
    _add_rules(s, project_id, row.id, default_group=False)
    s.flush()
    return views(s, caller, [row])[0]


def update(s: Session, caller: Caller, group_id: str, attrs: Mapping[str, Any],
           revision: int | None = None) -> dict[str, Any]:
    row = get_row(s, caller, group_id)
    check_revision(row, revision)
    if row.name == "default" and "name" in attrs and attrs["name"] != "default":
        raise SecurityGroupCannotUpdateDefault()
    if "stateful" in attrs and attrs["stateful"] != row.stateful and ports_using(s, row.id) is not None:
        raise SecurityGroupInUse(row.id)
    for key in ("name", "description", "stateful"):
        if key in attrs:
            setattr(row, key, attrs[key] if attrs[key] is not None else "")
    touch(row)
    s.flush()
    return views(s, caller, [row])[0]


def delete_group(s: Session, caller: Caller, group_id: str, revision: int | None = None) -> None:
    """Delete the group with its rules, the rules of other groups naming it, RBAC entries and tags."""
    row = get_row(s, caller, group_id)
    check_revision(row, revision)
    if row.name == "default" and not caller.is_admin:
        raise SecurityGroupCannotRemoveDefault()
    if ports_using(s, row.id) is not None:
        raise SecurityGroupInUse(row.id)
    rule = models.SecurityGroupRule
    s.execute(delete(rule).where(or_(rule.security_group_id == row.id, rule.remote_group_id == row.id)))
    s.execute(delete(models.DefaultSecurityGroup).where(models.DefaultSecurityGroup.security_group_id == row.id))
    r = models.RbacPolicy
    s.execute(delete(r).where(r.object_type == "security_group", r.object_id == row.id))
    delete_tags(s, TAG_TYPE, row.id)
    s.delete(row)
    s.flush()
