"""tempest.conf for a running onestack, and the onestack settings a pass needs to match it."""

from __future__ import annotations

import configparser
import io
import ipaddress
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Service:
    """A Tempest service area: where its tests live and how the catalog names it."""

    name: str
    test_prefix: str
    catalog_types: tuple[str, ...]
    # The [service_available] flag Tempest keys on; identity has none (always required).
    available_flag: str | None


SERVICES: dict[str, Service] = {s.name: s for s in (
    Service("identity", "tempest.api.identity", ("identity",), None),
    Service("compute", "tempest.api.compute", ("compute",), "nova"),
    Service("image", "tempest.api.image", ("image",), "glance"),
    Service("network", "tempest.api.network", ("network",), "neutron"),
    Service("volume", "tempest.api.volume", ("block-storage", "volumev3", "volume"), "cinder"),
    Service("object-storage", "tempest.api.object_storage", ("object-store",), "swift"),
)}

# [service_available] flags Tempest defines; every one not backed by a catalog entry is False.
AVAILABLE_FLAGS = ("cinder", "neutron", "glance", "swift", "nova", "horizon")


def services_in_catalog(catalog_types: set[str]) -> list[Service]:
    """The Tempest service areas a catalog with these service types can serve."""
    return [s for s in SERVICES.values() if set(s.catalog_types) & catalog_types]


def service_for_test(test_id: str) -> str:
    """Which service area a Tempest test id (or ``setUpClass (id)``) belongs to."""
    for service in SERVICES.values():
        if service.test_prefix + "." in test_id:
            return service.name
    return "other"


@dataclass(frozen=True)
class SecurityCompliance:
    """Keystone's [security_compliance] values; Tempest's [identity] user_* options must agree.

    Tempest's defaults are lockout after 2 failures for 5 s and a history of 2 passwords.
    A minimum password age above 0 makes Tempest skip its password-change tests, so it stays 0.
    """

    lockout_failure_attempts: int = 2
    lockout_duration: int = 5
    unique_last_password_count: int = 2
    minimum_password_age: int = 0

    def onestack_toml(self) -> str:
        """The ``onestack up --config`` file that turns these checks on."""
        return "\n".join([
            "# Written by tools/conformance for the security-compliance pass.",
            "[identity.security_compliance]",
            f"lockout_failure_attempts = {self.lockout_failure_attempts}",
            f"lockout_duration = {self.lockout_duration}",
            f"unique_last_password_count = {self.unique_last_password_count}",
            f"minimum_password_age = {self.minimum_password_age}",
            "",
        ])


@dataclass(frozen=True)
class ImageOptions:
    """onestack [image] settings of the image-multistore pass: the image tests that the default
    cloud makes Tempest skip (two writable stores; uploads not checked against disk_format).
    Tempest learns both from the cloud itself (/v2/info/stores and the format probe)."""

    extra_file_stores: str = "second:image-store-second"
    require_image_format_match: bool = False

    def onestack_toml(self) -> str:
        return "\n".join([
            "# Written by tools/conformance for the image-multistore pass.",
            "[image]",
            f'extra_file_stores = "{self.extra_file_stores}"',
            f"require_image_format_match = {str(self.require_image_format_match).lower()}",
            "",
        ])


# Tempest's own defaults for [image] container_formats / disk_formats; their order decides which
# formats its tests pick first (``container_formats[0]``, ``disk_formats[0]``).
TEMPEST_CONTAINER_FORMATS = ("bare", "ami", "ari", "aki", "ovf", "ova")
TEMPEST_DISK_FORMATS = ("qcow2", "raw", "ami", "ari", "aki", "vhd", "vmdk", "vdi", "iso", "vhdx")
# Where Tempest may point an HTTP import or task: a loopback port nothing listens on (the discard
# port), so anything that tries to fetch it fails at once instead of hanging on the outside world.
UNREACHABLE_IMAGE_URL = "http://127.0.0.1:9/onestack-unreachable/cirros.img"


def ordered_formats(offered: list[str] | None, tempest_order: tuple[str, ...]) -> tuple[str, ...]:
    """The formats a cloud accepts, Tempest's favourites first; Tempest's list if unknown."""
    if not offered:
        return tempest_order
    known = [f for f in tempest_order if f in offered]
    return tuple(known + sorted(f for f in set(offered) if f not in tempest_order))


@dataclass(frozen=True)
class ImageFacts:
    """What tools/conformance learnt from the running image service (see ``cloud.image_facts``)."""

    container_formats: tuple[str, ...] = TEMPEST_CONTAINER_FORMATS
    disk_formats: tuple[str, ...] = TEMPEST_DISK_FORMATS
    # The two public images ``onestack up`` registers (onestack_builtin=true), oldest first.
    image_ref: str | None = None
    image_ref_alt: str | None = None
    # True when an upload whose bytes do not match its disk_format is refused (probed).
    format_enforcement: bool = True
    # GET /v2/info/import's methods, and the qcow2 the tool serves for web-download (None: none).
    import_methods: tuple[str, ...] = ()
    http_image: str | None = None
    # True when the image cache API answers (GET /v2/cache as admin is 200).
    caching: bool = False


# onestack's default [scheduler] enabled_filters (DevStack's set); Tempest runs the hint tests
# (same_host, different_host, group) only for filters it is told are on.
DEFAULT_SCHEDULER_FILTERS = (
    "AvailabilityZoneFilter", "ComputeFilter", "ComputeCapabilitiesFilter", "ImagePropertiesFilter",
    "ServerGroupAntiAffinityFilter", "ServerGroupAffinityFilter", "SameHostFilter", "DifferentHostFilter",
)


@dataclass(frozen=True)
class ComputeOptions:
    """onestack settings of the normal pass: two simulated compute hosts, so that Tempest's
    migration, evacuation and host-spreading tests have somewhere to go, and two volume
    backends, so that its multi-backend and retype-with-migration tests do."""

    hosts: int = 2
    volume_backends: str = "file-1,file-2"

    def onestack_toml(self) -> str:
        return "\n".join([
            "# Written by tools/conformance for the normal pass.",
            "[compute]",
            f"hosts = {self.hosts}",
            "",
            "[volume]",
            f'backends = "{self.volume_backends}"',
            "",
        ])


@dataclass(frozen=True)
class ComputeFacts:
    """What tools/conformance learnt from the running compute service (see ``cloud.compute_facts``)."""

    hosts: int = 1  # enabled nova-compute services
    flavor_ref: str = "1"  # DevStack's m1.tiny
    flavor_ref_alt: str = "2"  # m1.small: the resize target
    min_microversion: str = "2.1"
    max_microversion: str = "2.1"
    scheduler_filters: tuple[str, ...] = DEFAULT_SCHEDULER_FILTERS
    # changePassword needs a guest agent: the fake driver, like libvirt without the QEMU agent,
    # answers 501. VNC consoles are offered (the host gives each guest a VNC port).
    change_password: bool = False
    vnc_console: bool = True
    # Every compute node's provider has COMPUTE_VOLUME_MULTI_ATTACH (Nova's supports_multiattach).
    multiattach_hosts: bool = False


# Tempest's own [network] project_network_cidr, kept unless the cloud already routes part of it.
TEMPEST_PROJECT_CIDR = "10.100.0.0/16"


@dataclass(frozen=True)
class NetworkFacts:
    """What tools/conformance learnt from the running network service (see ``cloud.network_facts``)."""

    # Aliases GET /v2.0/extensions lists; Tempest runs an extension's tests only when it is here.
    extensions: tuple[str, ...] = ()
    # DevStack's external network ("public", is_default): router gateways and floating IPs.
    public_network_id: str | None = None
    public_network_name: str | None = None
    # The network servers boot on when Tempest makes none for a project (DevStack's "private").
    fixed_network_name: str | None = None
    # Where Tempest cuts each test project's subnets from: clear of every subnet the cloud has.
    project_network_cidr: str = TEMPEST_PROJECT_CIDR


def clear_cidr(taken: list[str], wanted: str = TEMPEST_PROJECT_CIDR) -> str:
    """``wanted`` if no subnet in ``taken`` overlaps it, else the first free /16 in 10.0.0.0/8."""
    used = [ipaddress.ip_network(c, strict=False) for c in taken]
    used4 = [u for u in used if u.version == 4]
    candidates = [ipaddress.ip_network(wanted), *ipaddress.ip_network("10.0.0.0/8").subnets(new_prefix=16)]
    for candidate in candidates:
        if not any(candidate.overlaps(u) for u in used4):
            return str(candidate)
    raise SystemExit("conformance: no /16 in 10.0.0.0/8 is free of the cloud's subnets for Tempest's projects")


@dataclass(frozen=True)
class VolumeFacts:
    """What tools/conformance learnt from the running block-storage service (see ``cloud.volume_facts``)."""

    # The v3 version document's range (GET /volume/); None: Tempest skips microversioned tests.
    min_microversion: str | None = None
    max_microversion: str | None = None
    # volume_backend_name of each pool (GET /scheduler-stats/get_pools?detail=true), sorted.
    backend_names: tuple[str, ...] = ()
    # Capabilities of the first pool: Tempest puts them in volume types' extra specs and expects
    # the scheduler to place a volume of such a type.
    storage_protocol: str | None = None
    vendor_name: str | None = None
    extensions: tuple[str, ...] = ()  # aliases GET /v3/extensions lists
    binaries: tuple[str, ...] = ()  # distinct service binaries of GET /v3/os-services
    # Which APIs answer (probed: a collection GET, or a manage POST with an empty body → 400).
    volumes: bool = False
    snapshots: bool = False
    backups: bool = False
    manage_volume: bool = False
    manage_snapshot: bool = False
    # A public type with multiattach="<is> True" that a pool can hold (DevStack's "multiattach").
    multiattach_type: str | None = None


def _at_least(version: str | None, wanted: str) -> bool:
    if not version or version == "latest":
        return version == "latest"
    major, _, minor = version.partition(".")
    w_major, _, w_minor = wanted.partition(".")
    return (int(major), int(minor or 0)) >= (int(w_major), int(w_minor or 0))


@dataclass(frozen=True)
class ObjectStoreFacts:
    """What tools/conformance learnt from the object store's ``GET /info`` (see ``cloud.object_store_facts``)."""

    # /info answered: Tempest's discoverability tests (GET /info and its sections) then run.
    discoverable: bool = False
    # The top-level sections of /info (each middleware registers itself only when enabled): Tempest
    # runs the tests of an optional API only when it is named here.
    sections: tuple[str, ...] = ()
    # tempurl's allowed_digests; Tempest signs temp URLs with ``tempurl_digest_hashlib``.
    tempurl_digests: tuple[str, ...] = ()

    @property
    def container_sync(self) -> bool:
        return "container_sync" in self.sections

    @property
    def object_versioning(self) -> bool:
        # Tempest's versioning tests use X-Versions-Location: Swift's versioned_writes.
        return "versioned_writes" in self.sections

    @property
    def tempurl_digest(self) -> str:
        """sha256 (Tempest's default) unless the cluster offers only sha1 (or sha512)."""
        for digest in ("sha256", "sha512", "sha1"):
            if digest in self.tempurl_digests:
                return digest
        return "sha256"


@dataclass
class ConfInputs:
    identity_url: str  # e.g. http://127.0.0.1:5000/identity (no version suffix)
    admin_password: str
    workspace: Path
    region: str = "RegionOne"
    available_services: set[str] = field(default_factory=set)  # catalog service types
    security_compliance: SecurityCompliance | None = None
    # onestack's default policy lets a project-scoped admin manage everything (Keystone with
    # enforce_scope off), so Tempest uses project-scoped admin tokens unless asked otherwise.
    use_system_token: bool = False
    image: ImageFacts = field(default_factory=ImageFacts)
    compute: ComputeFacts = field(default_factory=ComputeFacts)
    network: NetworkFacts = field(default_factory=NetworkFacts)
    volume: VolumeFacts = field(default_factory=VolumeFacts)
    object_store: ObjectStoreFacts = field(default_factory=ObjectStoreFacts)


def _bool(value: bool) -> str:
    return "True" if value else "False"


def _identity_features(inputs: ConfInputs) -> dict[str, str]:
    return {
        "trust": "True",
        "api_v2": "False",
        "api_v2_admin": "False",
        "api_v3": "True",
        "api_extensions": "all",
        "access_rules": "True",
        "security_compliance": _bool(inputs.security_compliance is not None),
        # onestack keeps every domain's users in its own SQL backend; no per-domain LDAP.
        "domain_specific_drivers": "False",
        "immutable_user_source": "False",
        # Options only older Tempest and plugins read; Tempest 47 ignores them.
        "application_credentials": "True",
        "project_tags": "True",
        "external_idp": "False",
    }


def _identity(inputs: ConfInputs) -> dict[str, str]:
    sc = inputs.security_compliance or SecurityCompliance()
    return {
        "uri_v3": inputs.identity_url.rstrip("/") + "/v3",
        "auth_version": "v3",
        "catalog_type": "identity",
        "region": inputs.region,
        "v3_endpoint_type": "public",
        "default_domain_id": "default",
        "admin_role": "admin",
        "disable_ssl_certificate_validation": "True",
        "use_system_token": _bool(inputs.use_system_token),
        "user_lockout_failure_attempts": str(sc.lockout_failure_attempts),
        "user_lockout_duration": str(sc.lockout_duration),
        "user_unique_last_password_count": str(sc.unique_last_password_count),
        "user_minimum_password_age": str(sc.minimum_password_age),
    }


def _auth(inputs: ConfInputs) -> dict[str, str]:
    values = {
        "use_dynamic_credentials": "True",
        # DevStack's setting (Tempest's default): with a network service, each test project whose
        # class asks for one gets its own network, subnet and router (gateway on the public network).
        "create_isolated_networks": _bool("network" in inputs.available_services),
        "tempest_roles": "",
        "default_credentials_domain_name": "Default",
        "admin_username": "admin",
        "admin_project_name": "admin",
        "admin_password": inputs.admin_password,
        "admin_domain_name": "Default",
        "admin_user_domain_name": "Default",
        "admin_project_domain_name": "Default",
    }
    if inputs.use_system_token:
        values["admin_system"] = "all"
    return values


def _image(inputs: ConfInputs) -> dict[str, str]:
    facts = inputs.image
    return {
        "catalog_type": "image",
        "region": inputs.region,
        "endpoint_type": "public",
        "container_formats": ",".join(facts.container_formats),
        "disk_formats": ",".join(facts.disk_formats),
        # The cache API answers when [image] image_cache_enabled is on (probed); Tempest's
        # remote-cache test also needs a second image endpoint, which onestack has not.
        "image_caching_enabled": _bool(facts.caching),
        # The tool's local server (image_server.py) for web-download; the location tests need an
        # http store (skipped) and the legacy task import is skipped by Tempest (bug 2030527).
        "http_image": facts.http_image or UNREACHABLE_IMAGE_URL,
        "http_qcow2_image": facts.http_image or UNREACHABLE_IMAGE_URL,
        "hashing_algorithm": "sha512",
        # Uploads and imports finish within a second; a stuck status should fail the test soon.
        "build_timeout": "60",
        "build_interval": "1",
    }


def _image_features(inputs: ConfInputs) -> dict[str, str]:
    """Each flag is what onestack implements; docs/conformance.md gives the reasons."""
    return {
        "api_v2": "True",
        "import_image": "True",  # interoperable import (stage + glance-direct)
        "os_glance_reserved": "True",  # os_glance_* properties are refused
        "manage_locations": "False",  # show_multiple_locations is off (POST …/locations is 2.17's API)
        "image_conversion": "False",  # imports keep the uploaded format
        "image_format_enforcement": _bool(inputs.image.format_enforcement),
        "do_secure_hash": "True",  # os_hash_algo / os_hash_value on every upload
        "http_store_enabled": "False",  # stores: filesystem (and object storage); no http store
        "store_weight_enabled": "False",  # stores carry no weights
    }


def _compute_images(inputs: ConfInputs) -> dict[str, str]:
    """Images other services' tests boot from; left out until the cloud has them."""
    refs = {"image_ref": inputs.image.image_ref, "image_ref_alt": inputs.image.image_ref_alt}
    return {key: value for key, value in refs.items() if value}


def _compute(inputs: ConfInputs) -> dict[str, str]:
    facts = inputs.compute
    values = {
        "catalog_type": "compute",
        "region": inputs.region,
        "endpoint_type": "publicURL",
        "flavor_ref": facts.flavor_ref,
        "flavor_ref_alt": facts.flavor_ref_alt,
        "min_microversion": facts.min_microversion,
        "max_microversion": facts.max_microversion,
        "min_compute_nodes": str(facts.hosts),
        # Fake hosts build in well under a second; a stuck state should fail a test in two minutes.
        "build_timeout": "120",
        "build_interval": "1",
        # Nova's default: a shelved server is offloaded at once (Tempest waits for SHELVED_OFFLOADED).
        "shelved_offload_time": "0",
        # Simulated hosts (the machine's name for one, compute-1..N for more) are never bare-metal
        # (-ironic) nodes, which Tempest keeps out of the hosts it picks.
        "target_hosts_to_avoid": "-ironic",
    }
    values.update(_compute_images(inputs))
    if inputs.network.fixed_network_name:
        values["fixed_network_name"] = inputs.network.fixed_network_name
    if _volume_offered(inputs):
        # Nova names the first attached disk vdb (the fake driver as libvirt); Tempest's default, said.
        values["volume_device_name"] = "vdb"
    return values


def _volume_offered(inputs: ConfInputs) -> bool:
    return any(s.name == "volume" for s in services_in_catalog(inputs.available_services))


def _volume(inputs: ConfInputs) -> dict[str, str]:
    facts = inputs.volume
    values = {
        # Both types are in the catalog; volumev3 is what DevStack configures Tempest with.
        "catalog_type": "volumev3",
        "region": inputs.region,
        "endpoint_type": "publicURL",
        # Thin volumes on local files are ready in about a second; a stuck status fails in two minutes.
        "build_timeout": "120",
        "build_interval": "1",
        "volume_size": "1",
        "volume_size_extend": "1",
        # The agent's backup store is a directory of chunk files (Cinder's posix driver's layout).
        "backup_driver": "posix",
        "disk_format": "raw,qcow2",
        # What the manage tests adopt after an unmanage: the file driver's own disk names
        # (Tempest's defaults are LVM's, whose snapshots are "_snapshot-<id>").
        "manage_volume_ref": "source-name,volume-%s",
        "manage_snapshot_ref": "source-name,snapshot-%s",
    }
    if facts.min_microversion and facts.max_microversion:
        values["min_microversion"] = facts.min_microversion
        values["max_microversion"] = facts.max_microversion
    if facts.backend_names:
        values["backend_names"] = ",".join(facts.backend_names)
    if facts.storage_protocol:
        values["storage_protocol"] = facts.storage_protocol
    if facts.vendor_name:
        values["vendor_name"] = facts.vendor_name
    if facts.multiattach_type:
        values["volume_type_multiattach"] = facts.multiattach_type
    return values


def _volume_features(inputs: ConfInputs) -> dict[str, str]:
    """Each flag follows what the block-storage service answers; docs/conformance.md gives the reasons."""
    facts = inputs.volume
    nova = any(s.name == "compute" for s in services_in_catalog(inputs.available_services))
    return {
        "multi_backend": _bool(len(facts.backend_names) > 1),
        "backup": _bool(facts.backups),
        "snapshot": _bool(facts.snapshots),
        # A clone is a volume create with source_volid: served with the volumes API itself.
        "clone": _bool(facts.volumes),
        "manage_volume": _bool(facts.manage_volume),
        "manage_snapshot": _bool(facts.manage_snapshot),
        "replication": "False",  # no replication targets
        # An empty value means "no extensions" to Tempest; never "all", which claims Cinder's whole list.
        "api_extensions": ",".join(facts.extensions),
        # 3.42 on the volume side and 2.51 (volume-extended events) on the compute side.
        "extend_attached_volume": _bool(nova and _at_least(facts.max_microversion, "3.42")
                                        and _at_least(inputs.compute.max_microversion, "2.51")),
        "extend_attached_encrypted_volume": "False",  # no encryption provider
        "extend_volume_with_snapshot": _bool(facts.snapshots),
        # Image/volume/server-snapshot dependency tests: a server, volume snapshots and images.
        "enable_volume_image_dep_tests": _bool(nova and facts.snapshots),
    }


def _compute_features(inputs: ConfInputs) -> dict[str, str]:
    """Each flag is what onestack's compute implements; docs/conformance.md gives the reasons."""
    facts = inputs.compute
    many = facts.hosts > 1
    return {
        "disk_config": "True",  # OS-DCF:diskConfig kept on create, rebuild and resize
        "hostname_fqdn_sanitization": "False",
        "change_password": _bool(facts.change_password),
        "console_output": "True",
        "resize": "True",
        "pause": "True",
        "suspend": "True",
        "rescue": "True",
        "stable_rescue": "False",  # rescue keeps the original disk layout only via volumes (no cinder)
        "shelve": "True",
        "shelve_migrate": "False",
        "snapshot": "True",
        "cold_migration": _bool(many),
        "live_migration": _bool(many),
        "live_migrate_back_and_forth": _bool(many),
        "block_migration_for_live_migration": "False",
        "can_migrate_between_any_hosts": "True",
        "vnc_console": _bool(facts.vnc_console),
        "spice_console": "False",
        "serial_console": "False",
        "metadata_service": "False",  # no metadata service: guests learn nothing over 169.254.169.254
        "config_drive": "True",
        "enable_instance_password": "True",
        "interface_attach": _bool("network" in inputs.available_services),  # os-interface over ports
        "personality": "False",  # removed from Nova at 2.57; onestack does not write files into guests
        # Attach, detach and boot from volume need no flag: Tempest runs them when cinder is on.
        # Multiattach (DevStack's ENABLE_VOLUME_MULTIATTACH) when the volume side has a public
        # multiattach type, every host has the COMPUTE_VOLUME_MULTI_ATTACH trait and compute reaches 2.60.
        "volume_multiattach": _bool(_volume_offered(inputs) and inputs.volume.multiattach_type is not None
                                    and facts.multiattach_hosts and _at_least(facts.max_microversion, "2.60")),
        # Compute's swap (Cinder's callback while it migrates an attached volume, which then
        # calls os-migrate_volume_completion) is there whenever block storage is; Tempest's swap
        # tests check that a swap Cinder did not start is refused (409).
        "swap_volume": _bool(_volume_offered(inputs)),
        # These stay off with block storage too: no LUKS provider behind the fake hypervisor,
        # no volume-backed live migration.
        "attach_encrypted_volume": "False",
        "volume_backed_live_migration": "False",
        "ide_bus": "False",
        "unified_limits": "False",  # quotas are Nova's own (os-quota-sets), not Keystone limits
        "vtpm_live_migration": "False",
        "scheduler_enabled_filters": ",".join(facts.scheduler_filters),
    }


def _network(inputs: ConfInputs) -> dict[str, str]:
    facts = inputs.network
    values = {
        "catalog_type": "network",
        "region": inputs.region,
        "endpoint_type": "publicURL",
        "project_network_cidr": facts.project_network_cidr,
        "project_network_mask_bits": "28",
        # No guests to reach: servers are simulated, the data plane is the agent's model of it.
        "project_networks_reachable": "False",
        # Ports go ACTIVE when the agent has wired them: seconds, not minutes. Every router test waits
        # for its interface ports to go ACTIVE, so a port that never does costs this much per wait.
        "build_timeout": "60",
        "build_interval": "1",
    }
    if facts.public_network_id:
        values["public_network_id"] = facts.public_network_id
    if facts.public_network_name:
        values["floating_network_name"] = facts.public_network_name
    return values


def _network_features(inputs: ConfInputs) -> dict[str, str]:
    """Each flag follows what the cloud advertises; the extension list is GET /v2.0/extensions."""
    exts = set(inputs.network.extensions)
    return {
        # An empty list means "no extensions" to Tempest; never "all", which would claim everything.
        "api_extensions": ",".join(inputs.network.extensions),
        "ipv6": "True",  # DevStack's IPV6_ENABLED: IPv6 subnets (SLAAC/DHCPv6 attributes) too
        "ipv6_subnet_attributes": "True",
        "port_admin_state_change": "True",
        "port_security": _bool("port-security" in exts),
        "floating_ips": _bool("router" in exts and inputs.network.public_network_id is not None),
    }


def _object_storage(inputs: ConfInputs) -> dict[str, str]:
    return {
        "catalog_type": "object-store",
        "region": inputs.region,
        "endpoint_type": "public",
        # The roles keystoneauth gives the account of a project (operator_roles) and every account
        # (reseller_admin_role); ``onestack bootstrap`` creates both roles.
        "operator_role": "member",
        "reseller_admin_role": "ResellerAdmin",
        # Objects are listed in the same transaction that stores them: no wait is needed, a
        # stuck listing should fail fast.
        "build_timeout": "10",
    }


def _object_storage_features(inputs: ConfInputs) -> dict[str, str]:
    """Each flag follows what GET /info advertises; an empty list means "no optional API"."""
    facts = inputs.object_store
    return {
        # Never "all" (Tempest's default), which would claim every middleware Swift has.
        "discoverable_apis": ",".join(facts.sections),
        "discoverability": _bool(facts.discoverable),
        "container_sync": _bool(facts.container_sync),
        "object_versioning": _bool(facts.object_versioning),
        "tempurl_digest_hashlib": facts.tempurl_digest,
    }


def build_config(inputs: ConfInputs) -> configparser.ConfigParser:
    flags = {s.available_flag for s in services_in_catalog(inputs.available_services)}
    conf = configparser.ConfigParser(interpolation=None)
    conf["DEFAULT"] = {
        "debug": "True",
        "use_stderr": "False",
        "log_dir": str(inputs.workspace / "logs"),
        "log_file": "tempest.log",
    }
    conf["oslo_concurrency"] = {"lock_path": str(inputs.workspace / "tempest_lock")}
    conf["auth"] = _auth(inputs)
    conf["identity"] = _identity(inputs)
    conf["identity-feature-enabled"] = _identity_features(inputs)
    conf["service_available"] = {flag: _bool(flag in flags) for flag in AVAILABLE_FLAGS}
    # Matches onestack's default policy, which does not reject tokens for their scope.
    # glance: onestack's image policy has Glance's secure-RBAC personas, so Tempest reads images,
    # schemas and members as a separate project reader (and writes as the member), checking both.
    conf["enforce_scope"] = {"keystone": _bool(inputs.use_system_token), "glance": "True"}
    if "glance" in flags:
        conf["image"] = _image(inputs)
        conf["image-feature-enabled"] = _image_features(inputs)
    if "nova" in flags:
        conf["compute"] = _compute(inputs)
        conf["compute-feature-enabled"] = _compute_features(inputs)
    elif _compute_images(inputs):
        conf["compute"] = _compute_images(inputs)
    if "cinder" in flags:
        conf["volume"] = _volume(inputs)
        conf["volume-feature-enabled"] = _volume_features(inputs)
    if "neutron" in flags:
        conf["network"] = _network(inputs)
        conf["network-feature-enabled"] = _network_features(inputs)
    if "swift" in flags:
        conf["object-storage"] = _object_storage(inputs)
        conf["object-storage-feature-enabled"] = _object_storage_features(inputs)
    conf["service-clients"] = {"http_timeout": "60"}
    conf["validation"] = {"run_validation": "False"}
    return conf


def render(inputs: ConfInputs) -> str:
    buf = io.StringIO()
    buf.write("# Generated by tools/conformance for a running onestack; do not edit.\n")
    build_config(inputs).write(buf)
    return buf.getvalue()
