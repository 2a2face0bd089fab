"""What compute asks the block-storage service, over Cinder's v3 REST API as Nova does.

Volumes (get, create — from an image, a snapshot or blank, for boot from volume — delete),
snapshots (Nova's os-snapshots proxy) and the attachments API of microversion 3.44+ (create
reserves the volume for a server; update with the host's connector answers the connection info;
complete marks the volume in-use; delete detaches).

Calls act as the user when given the user's token — the volume then belongs to the user's
project and Cinder decides what the user may see — and as the ``onestack`` service user (an
admin, who may act on any project's volume by id) otherwise. The catalog names the service with
the service project in its URL (``/volume/v3/<project>``); since the segment is optional and must
be the caller's own, calls go to the unprojected root. Cinder's errors come back as
``VolumeError`` subclasses carrying the HTTP status and Cinder's message.
"""

from __future__ import annotations

import asyncio
import re
import time
from typing import Any

from onestack.client.session import ServiceSession

SERVICE = "block-storage"
MICROVERSION = "3.44"  # attachments with complete (Nova's minimum for the new attach flow)
_PROJECT_TAIL = re.compile(r"/[0-9a-fA-F-]{32,36}$")


class VolumeError(RuntimeError):
    def __init__(self, status: int, kind: str, message: str) -> None:
        super().__init__(f"{status} {kind}: {message}")
        self.status = status
        self.kind = kind  # Cinder's fault key: badRequest, itemNotFound, conflictingRequest, …
        self.message = message


class VolumeNotFound(VolumeError):
    """404: no such volume, snapshot or attachment (or another project's)."""


class InvalidVolume(VolumeError):
    """400: Cinder refused the request (the volume's status does not allow it, a bad value…)."""


class VolumeConflict(VolumeError):
    """409."""


class VolumeTimeout(VolumeError):
    """A volume did not reach the awaited status in time."""


def _error(status: int, kind: str, message: str) -> VolumeError:
    cls = {404: VolumeNotFound, 400: InvalidVolume, 409: VolumeConflict}.get(status, VolumeError)
    return cls(status, kind, message)


class VolumeClient:
    def __init__(self, session: ServiceSession, *, microversion: str = MICROVERSION) -> None:
        self.session = session
        self.microversion = microversion

    async def _root(self) -> str:
        return _PROJECT_TAIL.sub("", await self.session.endpoint(SERVICE))

    async def call(self, method: str, path: str, *, user_token: str | None = None, microversion: str | None = None,
                   **kwargs: Any) -> Any:
        """``path`` below ``/volume/v3`` (``/volumes/ID``); the decoded body, or None when empty."""
        url = f"{await self._root()}{path}"
        headers = {"OpenStack-API-Version": f"volume {microversion or self.microversion}",
                   "Accept": "application/json"}
        for _attempt in range(2):
            token = user_token or await self.session.token()
            resp = await self.session.http.request(method, url, headers={"X-Auth-Token": token, **headers},
                                                   **kwargs)
            if resp.status_code != 401 or user_token:
                break
            self.session._token = None  # ours expired: authenticate again, once
        if resp.status_code >= 400:
            kind, message = "", resp.text
            try:
                body = resp.json()
                if isinstance(body, dict) and body:
                    kind = next(iter(body))
                    fault = body[kind]
                    if isinstance(fault, dict):
                        message = str(fault.get("message", message))
            except ValueError:
                pass
            raise _error(resp.status_code, kind, message)
        return None if resp.status_code == 204 or not resp.content else resp.json()

    # --- volumes ---

    async def get_volume(self, volume_id: str, *, user_token: str | None = None) -> dict[str, Any]:
        return dict((await self.call("GET", f"/volumes/{volume_id}", user_token=user_token))["volume"])

    async def list_volumes(self, *, user_token: str | None = None, **params: Any) -> list[dict[str, Any]]:
        body = await self.call("GET", "/volumes/detail", user_token=user_token, params=params)
        return list(body["volumes"])

    async def create_volume(self, attrs: dict[str, Any], *, user_token: str | None = None) -> dict[str, Any]:
        """``attrs``: size, name, imageRef, snapshot_id, source_volid, volume_type, availability_zone…"""
        return dict((await self.call("POST", "/volumes", user_token=user_token, json={"volume": attrs}))["volume"])

    async def delete_volume(self, volume_id: str, *, user_token: str | None = None) -> None:
        await self.call("DELETE", f"/volumes/{volume_id}", user_token=user_token)

    async def wait_volume(self, volume_id: str, wanted: tuple[str, ...], *, timeout: float,
                          failed: tuple[str, ...] = ("error",), interval: float = 0.5,
                          user_token: str | None = None) -> dict[str, Any]:
        """Poll until the volume's status is one of ``wanted`` (a deadline, not a sleep)."""
        deadline = time.monotonic() + timeout
        while True:
            vol = await self.get_volume(volume_id, user_token=user_token)
            if vol.get("status") in wanted:
                return vol
            if vol.get("status") in failed:
                raise VolumeError(500, "volumeError", f"Volume {volume_id} went to status {vol.get('status')}")
            if time.monotonic() >= deadline:
                raise VolumeTimeout(504, "timeout", f"Volume {volume_id} is still {vol.get('status')} "
                                                    f"after {timeout:.0f}s")
            await asyncio.sleep(interval)

    async def reimage_volume(self, volume_id: str, image_id: str, *, reimage_reserved: bool = False,
                             user_token: str | None = None) -> None:
        """Cinder 3.68's os-reimage (Nova's rebuild of a volume-backed server); then ``volume-reimaged``."""
        await self.call("POST", f"/volumes/{volume_id}/action", user_token=user_token, microversion="3.68",
                        json={"os-reimage": {"image_id": image_id, "reimage_reserved": reimage_reserved}})

    # --- snapshots (Nova's os-snapshots proxy) ---

    async def get_snapshot(self, snapshot_id: str, *, user_token: str | None = None) -> dict[str, Any]:
        return dict((await self.call("GET", f"/snapshots/{snapshot_id}", user_token=user_token))["snapshot"])

    async def list_snapshots(self, *, user_token: str | None = None, **params: Any) -> list[dict[str, Any]]:
        return list((await self.call("GET", "/snapshots/detail", user_token=user_token, params=params))["snapshots"])

    async def create_snapshot(self, attrs: dict[str, Any], *, user_token: str | None = None) -> dict[str, Any]:
        body = await self.call("POST", "/snapshots", user_token=user_token, json={"snapshot": attrs})
        return dict(body["snapshot"])

    async def delete_snapshot(self, snapshot_id: str, *, user_token: str | None = None) -> None:
        await self.call("DELETE", f"/snapshots/{snapshot_id}", user_token=user_token)

    async def migrate_volume_completion(self, volume_id: str, new_volume_id: str, error: bool) -> str:
        """Compute's swap is done (or failed): the volume id the server's mapping keeps."""
        body = await self.call("POST", f"/volumes/{volume_id}/action",
                               json={"os-migrate_volume_completion": {"new_volume": new_volume_id, "error": error}})
        return str(body["save_volume_id"])

    # --- attachments (3.27+, complete 3.44) ---

    async def attachment_create(self, volume_id: str, instance_uuid: str, *, connector: dict[str, Any] | None = None,
                                mode: str | None = None, user_token: str | None = None) -> dict[str, Any]:
        """Reserves the volume for the server (status reserved); with a connector it is attaching."""
        att: dict[str, Any] = {"volume_uuid": volume_id, "instance_uuid": instance_uuid}
        if connector is not None:
            att["connector"] = connector
        if mode is not None:
            att["mode"] = mode
        body = await self.call("POST", "/attachments", user_token=user_token, json={"attachment": att})
        return dict(body["attachment"])

    async def attachment_get(self, attachment_id: str, *, user_token: str | None = None) -> dict[str, Any]:
        body = await self.call("GET", f"/attachments/{attachment_id}", user_token=user_token)
        return _translated(dict(body["attachment"]))

    async def attachment_update(self, attachment_id: str, connector: dict[str, Any], *,
                                user_token: str | None = None) -> dict[str, Any]:
        """The host's connector in; the attachment with its ``connection_info`` out."""
        body = await self.call("PUT", f"/attachments/{attachment_id}", user_token=user_token,
                               json={"attachment": {"connector": connector}})
        return _translated(dict(body["attachment"]))

    async def attachment_complete(self, attachment_id: str, *, user_token: str | None = None) -> None:
        await self.call("POST", f"/attachments/{attachment_id}/action", user_token=user_token,
                        json={"os-complete": None})

    async def attachments_list(self, *, volume_id: str | None = None, instance_id: str | None = None,
                               all_tenants: bool = True, limit: int | None = None, marker: str | None = None,
                               user_token: str | None = None) -> list[dict[str, Any]]:
        """The attachments' summaries (id, status, instance, volume_id), filtered and paged as Cinder
        does; of every project by default (the service user is an admin). A ``marker`` that is gone
        raises VolumeNotFound."""
        params: dict[str, str] = {}
        if all_tenants:
            params["all_tenants"] = "1"
        for key, value in (("volume_id", volume_id), ("instance_id", instance_id), ("marker", marker)):
            if value is not None:
                params[key] = value
        if limit is not None:
            params["limit"] = str(limit)
        body = await self.call("GET", "/attachments", user_token=user_token, params=params)
        return [dict(a) for a in (body or {}).get("attachments", [])]

    async def attachment_delete(self, attachment_id: str, *, missing_ok: bool = True,
                                user_token: str | None = None) -> None:
        """Detach; an attachment already gone is not an error (the caller wanted it gone) unless
        ``missing_ok`` is False, when it raises VolumeNotFound."""
        try:
            await self.call("DELETE", f"/attachments/{attachment_id}", user_token=user_token)
        except VolumeNotFound:
            if not missing_ok:
                raise


def _translated(attachment: dict[str, Any]) -> dict[str, Any]:
    """Cinder's attachment carries its connection info flattened (the driver's data with
    ``driver_volume_type`` beside it); Nova nests it again as volume drivers take it:
    ``{"driver_volume_type", "data": {...}}`` (nova/volume/cinder.py _translate_attachment_ref)."""
    info = attachment.get("connection_info")
    if isinstance(info, dict) and info and "data" not in info:
        flat = dict(info)
        kind = flat.pop("driver_volume_type", None)
        attachment["connection_info"] = {"driver_volume_type": kind, "data": flat}
    return attachment


def connector(host: str, mountpoint: str | None = None) -> dict[str, Any]:
    """The connector a compute host presents (the shape os-brick gives Nova); Nova adds the
    guest's device as ``mountpoint``, which Cinder records as the attachment's device."""
    found: dict[str, Any] = {"host": host, "ip": "127.0.0.1", "initiator": f"iqn.2004-10.org.onestack:{host}",
                             "platform": "x86_64", "os_type": "linux", "multipath": False}
    if mountpoint:
        found["mountpoint"] = mountpoint
    return found
