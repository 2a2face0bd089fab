"""Remote-console tokens: the API issues them, the noVNC proxy (compute/novncproxy.py) redeems them.

As Nova's console_auth_tokens: only the token's SHA-256 is stored, with where the guest's VNC
server listens and when the token expires; a token is good until then, for its server only.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from onestack.compute.models import ConsoleAuthToken, Instance


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def remember(s: Session, uuid: str, token: str, console_type: str, host: str, port: int,
             internal_access_path: str | None, ttl: int) -> None:
    """Store a new token for ``uuid``'s console; expired ones of every server go on the way."""
    now = int(time.time())
    s.execute(delete(ConsoleAuthToken).where(ConsoleAuthToken.expires <= now))
    s.add(ConsoleAuthToken(token_hash=token_hash(token), instance_uuid=uuid, console_type=console_type,
                           host=host, port=port, internal_access_path=internal_access_path, expires=now + ttl))


def redeem(s: Session, token: str) -> dict[str, Any] | None:
    """Where the console of ``token`` connects, or None: unknown, expired, or its server is gone."""
    row = s.execute(
        select(ConsoleAuthToken).join(Instance, Instance.uuid == ConsoleAuthToken.instance_uuid)
        .where(ConsoleAuthToken.token_hash == token_hash(token), ConsoleAuthToken.expires > int(time.time()),
               Instance.deleted.is_(False))
    ).scalars().first()
    if row is None:
        return None
    return {"instance_uuid": row.instance_uuid, "console_type": row.console_type, "host": row.host,
            "port": row.port, "internal_access_path": row.internal_access_path}

