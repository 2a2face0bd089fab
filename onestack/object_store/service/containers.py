"""Accounts, containers and listings in the database (Swift's account and container servers).

STUB — the containers helper replaces this with the real service. The signatures below are the
contract the controllers, middleware, server_rpc and the object servers rely on.
"""

from __future__ import annotations

from typing import Any

from onestack.core.db import Database
from onestack.object_store.rpcapi import ContainerUpdate
from onestack.object_store.service.info import AccountInfo, ContainerInfo


class ContainerService:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def account_info(self, account: str) -> AccountInfo | None:
        raise NotImplementedError

    async def container_info(self, account: str, container: str) -> ContainerInfo | None:
        raise NotImplementedError

    async def update_container(self, update: ContainerUpdate) -> None:
        """An object server's report (``container_updates.ContainerUpdater``): upsert the listing row
        when the update is newer than it, and keep the container's counts in the same transaction."""
        raise NotImplementedError

    async def expired(self, now: float, limit: int) -> list[dict[str, Any]]:
        """Listed objects whose X-Delete-At has passed: [{account, container, obj, delete_at}] (the expirer's queue)."""
        raise NotImplementedError
