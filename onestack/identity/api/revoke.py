"""Identity API: revoke (to be written)."""

from __future__ import annotations

from onestack.core.api.http import RouteTable

routes = RouteTable()
