"""What other services ask the identity service: does a project exist, what is its limit.

Services depend on this Protocol, never on identity's tables. ``onestack up`` wires the
in-process ``onestack.identity.directory.LocalDirectory``; a service running apart uses
``onestack.client.identity.HttpDirectory``. Both are synchronous because service logic
runs in worker threads (``Database.read`` / ``write``), where a blocking call is fine.
"""

from __future__ import annotations

from typing import Protocol


class IdentityDirectory(Protocol):
    def project_exists(self, project_id: str) -> bool:
        """True if identity knows a project (not a domain) with this id."""
        ...

    def limit(self, service_type: str, resource_name: str, project_id: str) -> int | None:
        """Keystone unified limit: the project's own, else the registered default; None if neither."""
        ...
