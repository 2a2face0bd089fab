"""Extensions: ``GET /v2.1/extensions`` and ``GET /v2.1/extensions/{alias}``.

Nova v2.1 no longer has loadable extensions; it answers this API with a fixed list naming the
features the legacy v2 API once offered as extensions, so that old clients probing for one
(by alias or by name) keep working. onestack answers with the same aliases and names, in the
same order, with the same constant namespace and date; the descriptions are our own words.
Every authenticated caller may read it (``os_compute_api:extensions``).
"""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from onestack.compute.api.common import ComputeRoutes, Req
from onestack.compute.api.operator import no_query_from_2_102
from onestack.core.api.faults import NotFound
from onestack.core.api.http import json_response

routes = ComputeRoutes()

RULE = "os_compute_api:extensions"
NAMESPACE = "http://docs.openstack.org/compute/ext/fake_xml"
UPDATED = "2014-12-03T00:00:00Z"

# (alias, name, description) in Nova's order: upper-case aliases first, then the os-* ones.
_EXTENSIONS: tuple[tuple[str, str, str], ...] = (
    ("NMN", "Multinic", "Add or remove a network interface of a server."),
    ("OS-DCF", "DiskConfig", "Choose whether the root disk is resized automatically or by hand."),
    ("OS-EXT-AZ", "ExtendedAvailabilityZone", "Shows the availability zone of a server."),
    ("OS-EXT-IMG-SIZE", "ImageSize", "Shows the size of an image in image listings."),
    ("OS-EXT-IPS", "ExtendedIps", "Shows whether a server address is fixed or floating."),
    ("OS-EXT-IPS-MAC", "ExtendedIpsMac", "Shows the MAC address beside each server address."),
    ("OS-EXT-SRV-ATTR", "ExtendedServerAttributes", "Shows host and hypervisor attributes of a server."),
    ("OS-EXT-STS", "ExtendedStatus", "Shows the vm, task and power states of a server."),
    ("OS-FLV-DISABLED", "FlavorDisabled", "Shows whether a flavor is disabled."),
    ("OS-FLV-EXT-DATA", "FlavorExtraData", "Shows extra flavor data such as the ephemeral disk."),
    ("OS-SCH-HNT", "SchedulerHints", "Pass hints to the scheduler when creating a server."),
    ("OS-SRV-USG", "ServerUsage", "Shows when a server was launched and terminated."),
    ("os-access-ips", "AccessIPs", "IPv4 and IPv6 access addresses of a server."),
    ("os-admin-actions", "AdminActions", "Administrative server actions such as resetting the state."),
    ("os-admin-password", "AdminPassword", "Change the administrator password of a server."),
    ("os-agents", "Agents", "Guest agent builds per hypervisor."),
    ("os-aggregates", "Aggregates", "Host aggregates, managed by administrators."),
    ("os-assisted-volume-snapshots", "AssistedVolumeSnapshots", "Volume snapshots taken with the hypervisor's help."),
    ("os-attach-interfaces", "AttachInterfaces", "Attach and detach network interfaces."),
    ("os-availability-zone", "AvailabilityZone", "List availability zones and choose one for a new server."),
    ("os-baremetal-ext-status", "BareMetalExtStatus", "Extended status of bare-metal nodes."),
    ("os-baremetal-nodes", "BareMetalNodes", "Bare-metal nodes, read through the compute API."),
    ("os-block-device-mapping", "BlockDeviceMapping", "Boot with block device mappings."),
    ("os-block-device-mapping-v2-boot", "BlockDeviceMappingV2Boot", "Boot with the second block device mapping format."),
    ("os-cell-capacities", "CellCapacities", "Capacity of compute cells."),
    ("os-cells", "Cells", "Compute cells and their neighbours."),
    ("os-certificates", "Certificates", "Certificates for guests."),
    ("os-cloudpipe", "Cloudpipe", "VPN instances for project networks."),
    ("os-cloudpipe-update", "CloudpipeUpdate", "Change the address and port of a VPN instance."),
    ("os-config-drive", "ConfigDrive", "Attach a configuration drive to a server."),
    ("os-console-auth-tokens", "ConsoleAuthTokens", "Look up the connection behind a console token."),
    ("os-console-output", "ConsoleOutput", "Read a server's console log, optionally its last lines."),
    ("os-consoles", "Consoles", "Interactive consoles of a server."),
    ("os-create-backup", "CreateBackup", "Take rotating backups of a server."),
    ("os-create-server-ext", "Createserverext", "Extra attributes when creating a server."),
    ("os-deferred-delete", "DeferredDelete", "Keep deleted servers restorable for a while."),
    ("os-evacuate", "Evacuate", "Rebuild the servers of a failed host elsewhere."),
    ("os-extended-evacuate-find-host", "ExtendedEvacuateFindHost", "Evacuate and let the scheduler pick the host."),
    ("os-extended-floating-ips", "ExtendedFloatingIps", "Choose the fixed address when adding a floating IP."),
    ("os-extended-hypervisors", "ExtendedHypervisors", "More hypervisor details."),
    ("os-extended-networks", "ExtendedNetworks", "More network attributes."),
    ("os-extended-quotas", "ExtendedQuotas", "Delete quotas and force quota updates."),
    ("os-extended-rescue-with-image", "ExtendedRescueWithImage", "Choose the image to rescue a server with."),
    ("os-extended-services", "ExtendedServices", "More compute service details."),
    ("os-extended-services-delete", "ExtendedServicesDelete", "Delete compute services."),
    ("os-extended-status", "ExtendedStatus", "Shows the vm, task and power states of a server."),
    ("os-extended-volumes", "ExtendedVolumes", "Shows the volumes attached to a server."),
    ("os-fixed-ips", "FixedIPs", "Fixed IP addresses."),
    ("os-flavor-access", "FlavorAccess", "Which projects may use a private flavor."),
    ("os-flavor-extra-specs", "FlavorExtraSpecs", "Key/value specifications of a flavor."),
    ("os-flavor-manage", "FlavorManage", "Create and delete flavors."),
    ("os-flavor-rxtx", "FlavorRxtx", "Shows the network bandwidth factor of a flavor."),
    ("os-flavor-swap", "FlavorSwap", "Shows the swap size of a flavor."),
    ("os-floating-ip-dns", "FloatingIpDns", "DNS entries for floating IPs."),
    ("os-floating-ip-pools", "FloatingIpPools", "Pools floating IPs come from."),
    ("os-floating-ips", "FloatingIps", "Floating IP addresses."),
    ("os-floating-ips-bulk", "FloatingIpsBulk", "Manage floating IPs in bulk."),
    ("os-fping", "Fping", "Check which servers answer pings."),
    ("os-hide-server-addresses", "HideServerAddresses", "Hide server addresses in some states."),
    ("os-hosts", "Hosts", "Compute hosts, managed by administrators."),
    ("os-hypervisor-status", "HypervisorStatus", "Shows the status and state of a hypervisor."),
    ("os-hypervisors", "Hypervisors", "Hypervisors, read by administrators."),
    ("os-instance-actions", "InstanceActions", "The log of actions taken on a server, and their events."),
    ("os-instance_usage_audit_log", "OSInstanceUsageAuditLog", "Audit log of the usage collection task."),
    ("os-keypairs", "Keypairs", "SSH key pairs."),
    ("os-lock-server", "LockServer", "Lock and unlock a server."),
    ("os-migrate-server", "MigrateServer", "Cold and live migration of servers."),
    ("os-migrations", "Migrations", "List migrations."),
    ("os-multiple-create", "MultipleCreate", "Create several servers in one request."),
    ("os-networks", "Networks", "Networks, managed by administrators."),
    ("os-networks-associate", "NetworkAssociationSupport", "Associate networks with projects and hosts."),
    ("os-pause-server", "PauseServer", "Pause and unpause a server."),
    ("os-personality", "Personality", "Inject files into a new server."),
    ("os-preserve-ephemeral-rebuild", "PreserveEphemeralOnRebuild", "Keep the ephemeral disk when rebuilding."),
    ("os-quota-class-sets", "QuotaClasses", "Default quotas by class."),
    ("os-quota-sets", "Quotas", "Project and user quotas."),
    ("os-rescue", "Rescue", "Rescue and unrescue a server."),
    ("os-security-group-default-rules", "SecurityGroupDefaultRules", "Rules every new security group starts with."),
    ("os-security-groups", "SecurityGroups", "Security groups of servers."),
    ("os-server-diagnostics", "ServerDiagnostics", "Hypervisor diagnostics of a server, for administrators."),
    ("os-server-external-events", "ServerExternalEvents", "Events other services send about servers."),
    ("os-server-group-quotas", "ServerGroupQuotas", "Quotas on server groups and their members."),
    ("os-server-groups", "ServerGroups", "Server groups with affinity policies."),
    ("os-server-list-multi-status", "ServerListMultiStatus", "Filter the server list by several statuses."),
    ("os-server-password", "ServerPassword", "The encrypted password a guest posts."),
    ("os-server-sort-keys", "ServerSortKeys", "Sort the server list."),
    ("os-server-start-stop", "ServerStartStop", "Start and stop a server."),
    ("os-services", "Services", "Compute services and their state."),
    ("os-shelve", "Shelve", "Shelve, offload and unshelve a server."),
    ("os-simple-tenant-usage", "SimpleTenantUsage", "Usage of servers per project over a period."),
    ("os-suspend-server", "SuspendServer", "Suspend and resume a server."),
    ("os-tenant-networks", "OSTenantNetworks", "Networks of a project."),
    ("os-used-limits", "UsedLimits", "Shows how much of each limit is in use."),
    ("os-used-limits-for-admin", "UsedLimitsForAdmin", "Lets administrators read another project's used limits."),
    ("os-user-data", "UserData", "Pass user data to a new server."),
    ("os-user-quotas", "UserQuotas", "Quotas per user within a project."),
    ("os-virtual-interfaces", "VirtualInterfaces", "Virtual network interfaces of a server."),
    ("os-volume-attachment-update", "VolumeAttachmentUpdate", "Swap the volume behind an attachment."),
    ("os-volumes", "Volumes", "Volumes and their snapshots, through the compute API."),
)


def _entry(alias: str, name: str, description: str) -> dict[str, Any]:
    return {"alias": alias, "description": description, "links": [], "name": name,
            "namespace": NAMESPACE, "updated": UPDATED}


@routes.get("/v2.1/extensions")
async def list_extensions(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce(RULE)
    return json_response({"extensions": [_entry(*e) for e in _EXTENSIONS]})


@routes.get("/v2.1/extensions/{alias}")
async def show_extension(req: Req) -> Response:
    await no_query_from_2_102(req)
    await req.enforce(RULE)
    alias = req.path("alias")
    for entry in _EXTENSIONS:
        if entry[0] == alias:
            return json_response({"extension": _entry(*entry)})
    raise NotFound("The resource could not be found.")
