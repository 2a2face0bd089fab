"""The system_metadata flags a boot with block device mappings leaves on its servers, read by the
scheduler, the allocation audit and the host (none of which may import the API's service layer)."""

from __future__ import annotations

# The root disk is a volume (Nova's is_bfv): no local root disk is claimed in placement or looked
# for by the scheduler's filters.
VOLUME_BACKED = "volume_backed"
# The boot asked for volumes: the host connects them before spawning (other builds make no
# extra call for mappings).
BOOT_VOLUMES = "boot_volumes"
