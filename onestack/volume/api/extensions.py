"""``/extensions``: Cinder's API extensions that onestack serves (name, alias, what it adds)."""

from __future__ import annotations

from starlette.responses import Response

from onestack.core.api.http import json_response
from onestack.volume.api.common import Req, VolumeRoutes

routes = VolumeRoutes()

# (name, alias, description, updated): Cinder's own words and dates.
EXTENSIONS: tuple[tuple[str, str, str, str], ...] = (
    ("AdminActions", "os-admin-actions", "Enable admin actions.", "2012-08-25T00:00:00+00:00"),
    ("Availability_zones", "os-availability-zone", "Describe Availability Zones.", "2013-06-27T00:00:00+00:00"),
    ("Backups", "backups", "Backups support.", "2012-12-12T00:00:00+00:00"),
    ("Capabilities", "capabilities", "Capabilities support.", "2015-08-31T00:00:00+00:00"),
    ("ExtendedServices", "os-extended-services", "Extended services support.", "2014-01-10T00:00:00-00:00"),
    ("ExtendedSnapshotAttributes", "os-extended-snapshot-attributes", "Extended SnapshotAttributes support.",
     "2012-06-19T00:00:00+00:00"),
    ("Hosts", "os-hosts", "Admin-only host administration.", "2011-06-29T00:00:00+00:00"),
    ("QoSSpecsManage", "qos-specs", "QoS specs support.", "2013-08-02T00:00:00+00:00"),
    ("QuotaClasses", "os-quota-class-sets", "Quota classes management support.", "2012-03-12T00:00:00+00:00"),
    ("Quotas", "os-quota-sets", "Quota management support.", "2011-08-08T00:00:00+00:00"),
    ("SchedulerStats", "scheduler-stats", "Scheduler stats support.", "2014-09-07T00:00:00+00:00"),
    ("Services", "os-services", "Services support.", "2012-10-28T00:00:00-00:00"),
    ("SnapshotActions", "os-snapshot-actions", "Enable snapshot manager actions.", "2013-07-16T00:00:00+00:00"),
    ("TypesExtraSpecs", "os-types-extra-specs", "Type extra specs support.", "2011-08-24T00:00:00+00:00"),
    ("TypesManage", "os-types-manage", "Types manage support.", "2011-08-24T00:00:00+00:00"),
    ("UsedLimits", "os-used-limits", "Provide data on limited resources that are being used.",
     "2013-10-03T00:00:00+00:00"),
    ("VolumeActions", "os-volume-actions", "Enable volume actions.", "2012-05-31T00:00:00+00:00"),
    ("VolumeEncryptionMetadata", "os-volume-encryption-metadata", "Volume encryption metadata",
     "2013-07-10T00:00:00+00:00"),
    ("VolumeHostAttribute", "os-vol-host-attr", "Expose host as an attribute of a volume.",
     "2011-11-03T00:00:00+00:00"),
    ("VolumeImageMetadata", "os-vol-image-meta", "Show image metadata associated with the volume.",
     "2012-12-07T00:00:00+00:00"),
    ("VolumeMigStatusAttribute", "os-vol-mig-status-attr", "Expose migration_status as an attribute of a volume.",
     "2013-08-08T00:00:00+00:00"),
    ("VolumeTenantAttribute", "os-vol-tenant-attr", "Expose the internal project_id as an attribute of a volume.",
     "2011-11-03T00:00:00+00:00"),
    ("VolumeTransfer", "os-volume-transfer", "Volume transfer management support.", "2013-05-29T00:00:00+00:00"),
    ("VolumeTypeAccess", "os-volume-type-access", "Volume type access support.", "2014-06-26T22:00:00-00:00"),
    ("VolumeTypeEncryption", "encryption", "Encryption support for volume types.", "2013-07-01T00:00:00+00:00"),
)


@routes.get("/v3/extensions")
async def list_extensions(req: Req) -> Response:
    await req.enforce("volume_extension:extensions")
    return json_response({"extensions": [
        {"name": name, "alias": alias, "description": description, "updated": updated, "links": []}
        for name, alias, description, updated in EXTENSIONS]})
