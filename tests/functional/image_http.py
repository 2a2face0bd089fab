"""Raw HTTP helpers for the image data-path tests (openstacksdk hides status codes and headers)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from tests.functional.cloud import RunningCloud, wait_until

OCTET = {"Content-Type": "application/octet-stream"}


class ImageHttp:
    """An httpx client on /image with one user's token."""

    def __init__(self, cloud: RunningCloud, conn: Any) -> None:
        self.cloud = cloud
        self.token = conn.session.get_token()
        self.http = httpx.Client(base_url=f"{cloud.base_url}/image", headers={"X-Auth-Token": self.token},
                                 timeout=120)

    def create(self, disk_format: str = "raw", **fields: Any) -> dict[str, Any]:
        body = {"name": f"img-{uuid.uuid4().hex[:8]}", "disk_format": disk_format, "container_format": "bare"}
        body.update(fields)
        resp = self.http.post("/v2/images", json=body)
        assert resp.status_code == 201, resp.text
        return dict(resp.json())

    def show(self, image_id: str) -> dict[str, Any]:
        resp = self.http.get(f"/v2/images/{image_id}")
        assert resp.status_code == 200, resp.text
        return dict(resp.json())

    def put_file(self, image_id: str, data: bytes | Iterator[bytes], **headers: str) -> httpx.Response:
        return self.http.put(f"/v2/images/{image_id}/file", content=data, headers={**OCTET, **headers})

    def stage(self, image_id: str, data: bytes | Iterator[bytes]) -> httpx.Response:
        return self.http.put(f"/v2/images/{image_id}/stage", content=data, headers=OCTET)

    def import_(self, image_id: str, body: dict[str, Any] | None = None, **headers: str) -> httpx.Response:
        return self.http.post(f"/v2/images/{image_id}/import",
                              json=body or {"method": {"name": "glance-direct"}}, headers=headers)

    def get_file(self, image_id: str, **headers: str) -> httpx.Response:
        return self.http.get(f"/v2/images/{image_id}/file", headers=headers)

    def wait_status(self, image_id: str, *statuses: str, timeout: float = 30) -> dict[str, Any]:
        return dict(wait_until(lambda: (d := self.show(image_id))["status"] in statuses and d,
                               timeout=timeout, what=f"image {image_id} in {statuses}"))

    def delete(self, image_id: str) -> None:
        self.http.delete(f"/v2/images/{image_id}")


def stray_files(data_dir: Path, image_id: str) -> list[Path]:
    """Files (final or temporary) that belong to ``image_id`` in any store or staging dir."""
    return [p for p in data_dir.rglob(f"*{image_id}*") if p.is_file()]


def vm_rss_kib(pid: int, field: str = "VmRSS") -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise AssertionError(f"{field} not in /proc/{pid}/status")


def pattern_stream(total: int, chunk: int = 1024 * 1024) -> Iterator[bytes]:
    """``total`` bytes of a repeating, position-dependent pattern, generated lazily."""
    block = bytes(range(256)) * (chunk // 256)
    sent = 0
    while sent < total:
        piece = block[: min(chunk, total - sent)]
        sent += len(piece)
        yield piece
