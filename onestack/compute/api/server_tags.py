"""(placeholder: filled in by the servers work)"""

from __future__ import annotations

from onestack.core.api.http import RouteTable

routes = RouteTable()
