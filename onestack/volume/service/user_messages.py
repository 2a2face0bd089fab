"""User messages (``/messages``, 3.3) as the API reads them: list, show, delete. Recording them
and the texts of their action/detail ids are ``service/messages.py``'s."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.volume import models
from onestack.volume.errors import MessageNotFound
from onestack.volume.service import messages
from onestack.volume.service.common import Caller, ListQuery, get_visible, list_rows, visible

M = models.Message
SORT_COLUMNS = {"created_at": M.created_at, "resource_type": M.resource_type, "event_id": M.event_id,
                "resource_uuid": M.resource_uuid, "message_level": M.message_level, "request_id": M.request_id,
                "id": M.id}
FILTERS = ("resource_uuid", "resource_type", "event_id", "request_id", "message_level")


def user_message(row: models.Message) -> str:
    return messages.user_message(row.action_id, row.detail_id)


def list_messages(s: Session, caller: Caller, lq: ListQuery) -> list[models.Message]:
    stmt = select(M)
    if not caller.is_admin:
        stmt = visible(stmt, M, caller, lq)
    elif lq.project_id is not None:
        stmt = stmt.where(M.project_id == lq.project_id)
    return list_rows(s, stmt, M, lq, SORT_COLUMNS).rows


def get_message(s: Session, message_id: str, caller: Caller) -> models.Message:
    return get_visible(s, M, message_id, caller, MessageNotFound)


def delete_message(s: Session, message_id: str, caller: Caller) -> None:
    s.delete(get_visible(s, M, message_id, caller, MessageNotFound))
