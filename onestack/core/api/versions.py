"""Version discovery documents at each service root."""

from __future__ import annotations

from typing import Any


def version_entry(
    base_url: str,
    version_id: str,
    path: str,
    *,
    status: str = "stable",
    updated: str = "2024-01-01T00:00:00Z",
    media_type: str = "application/json",
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "id": version_id,
        "status": status,
        "updated": updated,
        "links": [{"rel": "self", "href": f"{base_url.rstrip('/')}/{path.strip('/')}/"}],
        "media-types": [{"base": "application/json", "type": media_type}],
    }
    entry.update(extra or {})
    return entry
