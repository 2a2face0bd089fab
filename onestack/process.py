"""What one OS process offers the services it runs.

``onestack up`` runs every service in one process; ``onestack serve NAME…`` runs some of them;
``onestack agent compute`` runs one host's agent with no database. Whatever the mix, a
service's ``build`` gets a ``Process``: the configuration, the database (None in an agent),
the bus, and the clients of the other services — answered in-process when that service runs
here, over HTTP through the catalog when it runs elsewhere. This is the composition root's
one place for that choice, so no service imports another's internals to find it.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import httpx
from starlette.types import ASGIApp

from onestack.client.image import ImageClient
from onestack.client.network import NetworkClient
from onestack.client.placement import PlacementClient
from onestack.client.session import ServiceSession
from onestack.client.volume import VolumeClient
from onestack.core.auth import HttpTokenValidator, TokenValidator
from onestack.core.bus import Bus
from onestack.core.config import Config
from onestack.core.db import Database
from onestack.core.directory import IdentityDirectory
from onestack.core.service import Running

if TYPE_CHECKING:
    from onestack.identity.app import IdentityHandles

SECRETS_FILE = "secrets.json"


def service_password(config: Config) -> str:
    """The ``onestack`` service user's password: configuration first, else the data dir's secrets."""
    if config.auth.service_password:
        return config.auth.service_password
    path = config.data_dir / SECRETS_FILE
    if path.exists():
        secrets: dict[str, str] = json.loads(path.read_text())
        return secrets.get("onestack", "")
    return ""


class _OwnApp(httpx.AsyncBaseTransport):
    """Requests to this process's own base URL, answered by its ASGI app (once it exists) without a socket."""

    def __init__(self, process: Process) -> None:
        self.process = process
        self._transport: httpx.ASGITransport | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._transport is None:
            if self.process.app is None:
                raise RuntimeError("this process's API is not assembled yet")
            self._transport = httpx.ASGITransport(app=self.process.app)
        return await self._transport.handle_async_request(request)


class Process:
    def __init__(self, config: Config, db: Database | None, bus: Bus) -> None:
        self.config = config
        self.db = db
        self.bus = bus
        self.running: dict[str, Running] = {}
        self.app: ASGIApp | None = None  # this process's own HTTP app, once assembled
        self._validator: TokenValidator | None = None
        self._directory: IdentityDirectory | None = None
        self._session: ServiceSession | None = None
        self._placement: PlacementClient | None = None
        self._images: ImageClient | None = None
        self._network: NetworkClient | None = None
        self._volume: VolumeClient | None = None

    # --- what the process has -------------------------------------------------------------------

    def database(self) -> Database:
        """A database handle of the service's own (its own after-write hooks, the shared engine)."""
        if self.db is None:
            raise RuntimeError("this process has no database (agents talk over the bus and HTTP only)")
        return self.db.sibling()

    def state_of(self, name: str) -> Any:
        """The state a service running in this process shared (None when it runs elsewhere)."""
        running = self.running.get(name)
        return None if running is None else running.state

    @property
    def identity_url(self) -> str:
        return self.config.auth.identity_url.rstrip("/") or f"{self.config.base_url}/identity"

    # --- identity -------------------------------------------------------------------------------

    def _identity(self) -> IdentityHandles | None:
        found: IdentityHandles | None = self.state_of("identity")
        return found

    @property
    def validator(self) -> TokenValidator:
        """Who is calling: identity's own validator in-process, else identity's REST API (cached)."""
        if self._validator is None:
            local = self._identity()
            if local is not None:
                self._validator = local.validator
            else:
                auth = self.config.auth
                self._validator = HttpTokenValidator(self.identity_url, auth.service_username,
                                                     service_password(self.config), auth.service_project,
                                                     auth.cache_ttl)
        return self._validator

    @property
    def directory(self) -> IdentityDirectory:
        if self._directory is None:
            local = self._identity()
            if local is not None:
                self._directory = local.directory
            else:
                from onestack.client.identity import HttpDirectory

                self._directory = HttpDirectory(self.identity_url, self.config.auth.service_username,
                                                service_password(self.config), self.config.auth.cache_ttl)
        return self._directory

    # --- the other services' APIs ---------------------------------------------------------------

    @property
    def session(self) -> ServiceSession:
        """HTTP to every API as the service user; requests to this process's own URL stay in-process."""
        if self._session is None:
            # Only a process that serves APIs answers its own URL in-process (the app comes later).
            serves_http = any(r.api is not None for r in self.running.values()) or self.app is not None
            mounts: dict[str, httpx.AsyncBaseTransport] = {}
            if serves_http:
                mounts[self.config.base_url.rstrip("/")] = _OwnApp(self)
            self._session = ServiceSession(self.identity_url, self.config.auth.service_username,
                                           service_password(self.config), region=self.config.bootstrap.region,
                                           mounts=mounts)
        return self._session

    @property
    def placement(self) -> PlacementClient:
        if self._placement is None:
            local = self.state_of("placement")
            if local is not None:
                from onestack.placement.local import LocalPlacement

                self._placement = LocalPlacement(self.session, local)
            else:
                self._placement = PlacementClient(self.session)
        return self._placement

    @property
    def images(self) -> ImageClient:
        if self._images is None:
            local = self.state_of("image")
            if local is not None:
                from onestack.image.local import LocalImages

                self._images = LocalImages(self.session, local, self.validator)
            else:
                self._images = ImageClient(self.session)
        return self._images

    @property
    def network(self) -> NetworkClient:
        """The network service's REST API (in-process when it runs here: no socket, same requests)."""
        if self._network is None:
            self._network = NetworkClient(self.session)
        return self._network

    @property
    def volume(self) -> VolumeClient:
        """The block-storage service's REST API (Cinder v3; in-process when it runs here)."""
        if self._volume is None:
            self._volume = VolumeClient(self.session)
        return self._volume

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
