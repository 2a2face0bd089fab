"""(to be written)"""

from __future__ import annotations

from onestack.volume.api.common import VolumeRoutes

routes = VolumeRoutes()
