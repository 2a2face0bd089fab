"""What the controllers and middleware know of an account or a container (Swift's get_account_info /
get_container_info): read once per request (``ctx.cache``) through ``ContainerService``."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class AccountInfo:
    name: str
    created_at: str  # X-Timestamp
    put_timestamp: str
    container_count: int
    object_count: int
    bytes_used: int
    # Every stored header, lower-case: x-account-meta-*, x-account-meta-temp-url-key(-2),
    # x-account-meta-quota-bytes, x-account-access-control, x-account-sysmeta-*...
    meta: dict[str, str] = field(default_factory=dict)


@dataclass
class ContainerInfo:
    account: str
    name: str
    created_at: str
    put_timestamp: str
    object_count: int
    bytes_used: int
    storage_policy: str
    # Every stored header, lower-case: x-container-meta-*, x-container-read, x-container-write,
    # x-versions-location, x-history-location, x-container-meta-quota-bytes/-count,
    # x-container-meta-temp-url-key(-2), x-container-meta-web-*, x-container-sysmeta-*...
    meta: dict[str, str] = field(default_factory=dict)

    @property
    def read_acl(self) -> str | None:
        return self.meta.get("x-container-read")

    @property
    def write_acl(self) -> str | None:
        return self.meta.get("x-container-write")
