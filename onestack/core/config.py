"""Typed configuration: defaults <- TOML file <- environment (ONESTACK_...) <- flags.

Every key is a field of a dataclass below; docs/configuration.md lists them all.
Environment variables name the path with double underscores between levels:
``ONESTACK_SERVER__PORT=5001``, ``ONESTACK_IDENTITY__SECURITY_COMPLIANCE__LOCKOUT_DURATION=30``.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENV_PREFIX = "ONESTACK_"


class ConfigError(ValueError):
    """A configuration value is missing, unknown or of the wrong type."""


def default_data_dir() -> str:
    base = os.environ.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"), ".local", "share")
    return os.path.join(base, "onestack")


@dataclass
class ServerConfig:
    host: str = "127.0.0.1"
    port: int = 5000
    data_dir: str = field(default_factory=default_data_dir)
    # Largest request body accepted by any API (bytes); bigger bodies get 413.
    max_request_body_size: int = 114688
    # Base URL written into the catalog; empty means http://{host}:{port}.
    public_url: str = ""
    # The host name this process's central services (conductor, scheduler) report in os-services
    # (Nova's ``host``); empty: the machine's, recorded in the data dir (onestack/core/hostname.py).
    host_name: str = ""
    # Seconds an idle keep-alive connection stays open. Clients such as requests/urllib3 keep
    # pooled connections with no expiry, so a request sent as the server closes an idle one meets
    # a reset; a long wait (OpenStack's eventlet servers keep 900 s) makes that boundary rare.
    keep_alive_timeout: int = 75
    # Processes serving the APIs of ``onestack serve`` on its one port (Neutron's ``api_workers``);
    # more than 1 needs a server database; ``onestack up`` is always one process (onestack/workers.py).
    api_workers: int = 1


@dataclass
class DatabaseConfig:
    # Empty means SQLite in WAL mode at <data_dir>/onestack.db.
    url: str = ""
    # SQLite busy timeout (seconds) before a locked write gives up.
    sqlite_busy_timeout: float = 30.0
    # Threads a process runs its database reads in, and its writes (always 1 on SQLite; on a
    # server database several writers overlap their transactions' round trips — not yet the
    # default, docs/design.md says why).
    read_threads: int = 4
    write_threads: int = 1


@dataclass
class LogConfig:
    level: str = "INFO"
    # One JSON object per line instead of human-readable text.
    json: bool = False
    # Log one line per HTTP request.
    requests: bool = True


@dataclass
class SecurityComplianceConfig:
    # 0 disables each check, as in Keystone.
    lockout_failure_attempts: int = 0
    lockout_duration: int = 1800
    unique_last_password_count: int = 0
    minimum_password_age: int = 0
    password_expires_days: int = 0
    password_regex: str = ""
    password_regex_description: str = ""
    change_password_upon_first_use: bool = False
    disable_user_account_days_inactive: int = 0


@dataclass
class MessagingConfig:
    # memory:// (one process) or rabbit://user:password@host:port/vhost (many processes).
    transport_url: str = "memory://"
    # Messages one consumer of a topic takes at once before acknowledging any (AMQP prefetch).
    prefetch: int = 64


@dataclass
class IdentityConfig:
    token_expiration: int = 3600
    # Extra seconds a revoked-by-expiry token is still accepted when allow_expired is asked.
    allow_expired_window: int = 172800
    max_active_keys: int = 3
    password_hash_rounds: int = 12
    # Seconds a validated token, the catalog and an EC2 key's checked secret stay in the in-process cache.
    cache_ttl: float = 300.0
    # Optional YAML file of policy rules that override the defaults.
    policy_file: str = ""
    list_limit: int = 0
    # Keystone's [oauth1] request_token_duration: seconds an OAuth1 request token lives (0: forever).
    oauth1_request_token_duration: int = 28800
    # Keystone's [oauth1] access_token_duration: seconds an OAuth1 access token lives (0: forever).
    oauth1_access_token_duration: int = 86400
    # Schema version a mapping gets when its body names none (Keystone's [federation] attribute_mapping_default_schema_version).
    federation_mapping_schema_version: str = "1.0"
    # Default relay_state_prefix of a new service provider (Keystone's [saml] relay_state_prefix).
    saml_relay_state_prefix: str = "ss:mem:"
    security_compliance: SecurityComplianceConfig = field(default_factory=SecurityComplianceConfig)


@dataclass
class ImageConfig:
    # Optional YAML file of policy rules that override the image defaults.
    policy_file: str = ""
    # --- data path (stores, staging, quotas, format checks) ---
    # Store that takes uploads when the client names none.
    default_store: str = "file"
    # More filesystem stores besides "file": "id:dir,id2:dir2" (relative dirs are under the data dir).
    extra_file_stores: str = ""
    # Offer the "swift" store (images in the object store, Glance's single-tenant swift driver)
    # whenever the object store is enabled; it is listed in /v2/info/stores beside "file".
    swift_store: bool = True
    # Container of the service account that holds the images (and their segments).
    swift_store_container: str = "glance"
    # Images bigger than this many MiB are kept as segments of this size plus a DLO manifest
    # (Glance's swift_store_large_object_chunk_size).
    swift_store_large_object_chunk_size: int = 200
    # Where PUT /v2/images/{id}/stage keeps data until import; empty means <data_dir>/image-staging.
    staging_dir: str = ""
    # Import methods advertised by GET /v2/info/import (Glance's enabled_import_methods).
    import_methods: str = "glance-direct,web-download,copy-image"
    # web-download URI filtering, comma-separated (Glance's [import_filtering_opts]); when both an
    # allowed and a disallowed list are set, only the allowed one is obeyed, as in Glance.
    import_filtering_allowed_schemes: str = "http,https"
    import_filtering_disallowed_schemes: str = ""
    import_filtering_allowed_hosts: str = ""
    import_filtering_disallowed_hosts: str = ""
    import_filtering_allowed_ports: str = "80,443"
    import_filtering_disallowed_ports: str = ""
    # Read a location's data added by POST /v2/images/{id}/locations to compute its checksum and
    # hash (Glance's do_secure_hash); off, the caller's validation_data is taken as given.
    do_secure_hash: bool = True
    # Largest single image in bytes (Glance's image_size_cap); bigger uploads get 413.
    image_size_cap: int = 1099511627776
    # Per-project limits (Glance's unified-limit names); -1 means unlimited. Sizes are MiB.
    image_size_total: int = -1
    image_stage_total: int = -1
    image_count_total: int = -1
    image_count_uploading: int = -1
    # Per-image limits (Glance's option names); -1 means unlimited. Over them: 413.
    image_member_quota: int = 128
    image_property_quota: int = 128
    image_tag_quota: int = 128
    # Refuse uploads whose content is not the declared disk_format (Glance's require_image_format_match).
    require_image_format_match: bool = True
    # Register the two built-in public images at bootstrap (DevStack's CirrOS equivalents).
    builtin_images: bool = True
    # Glance's delayed_delete: DELETE leaves the data for the scrubber (status pending_delete).
    delayed_delete: bool = False
    # Seconds a pending_delete image keeps its data before the scrubber removes it.
    scrub_time: int = 0
    # Seconds between scrubber passes.
    scrubber_interval: float = 60.0
    # Glance's image cache on this API host (image_cache_dir set): cache-on-read and /v2/cache.
    image_cache_enabled: bool = True
    # Where cached images live (Glance's image_cache_dir); empty means <data_dir>/image-cache.
    image_cache_dir: str = ""
    # Bytes the pruner keeps the cache under (Glance's image_cache_max_size, 10 GiB).
    image_cache_max_size: int = 10737418240
    # Seconds before an incomplete cache file counts as stalled and is removed (Glance's image_cache_stall_time).
    image_cache_stall_time: int = 86400
    # Seconds between prefetcher/pruner passes (Glance's cache_prefetcher_interval); PUT /v2/cache/{id} starts at once.
    cache_prefetcher_interval: float = 300.0


@dataclass
class ComputeConfig:
    # Serve compute (API, conductor, scheduler, agents) and list it in the catalog.
    enabled: bool = True
    # Optional YAML file of policy rules that override the compute defaults.
    policy_file: str = ""
    # Hypervisor driver of each compute host (onestack/compute/virt/registry.py).
    compute_driver: str = "fake"
    # Capacity and spawn time of each simulated host when compute_driver is "fake".
    fake_host_vcpus: int = 64
    fake_host_memory_mb: int = 131072
    fake_host_disk_gb: int = 2048
    fake_spawn_latency: float = 0.0
    # Failure injection on simulated hosts: servers with these names (comma-separated) fail to
    # spawn, as does each spawn with the given probability.
    fake_fail_spawn: str = ""
    # Seconds a live migration between simulated hosts takes (so it can be listed and aborted).
    fake_live_migration_latency: float = 0.0
    fake_fail_spawn_probability: float = 0.0
    # Failure injection: destroying guests of servers with these names (comma-separated) fails.
    fake_fail_destroy: str = ""
    # Simulated hosts `onestack up` runs (`--compute-hosts N`): one is named host_name, more are
    # named compute-1 ... compute-N.
    hosts: int = 1
    # The name of the one compute host (Nova's ``host``); empty: the machine's, as server.host_name.
    host_name: str = ""
    # Over-commit placement allows on every host (Nova's initial_*_allocation_ratio defaults).
    cpu_allocation_ratio: float = 4.0
    ram_allocation_ratio: float = 1.0
    disk_allocation_ratio: float = 1.0
    # Seconds between an agent's heartbeats and inventory reports; a service silent for
    # service_down_time seconds is shown "down" and gets no new servers.
    report_interval: float = 10.0
    service_down_time: float = 60.0
    # Seconds between passes of each agent's reconcile loop (power state sync, orphans, stuck
    # tasks); a task untouched for task_grace seconds with nothing in flight is repaired (a boot
    # or unshelve by a conductor's periodic pass, once no conductor holds a live lease on it).
    reconcile_interval: float = 10.0
    task_grace: float = 30.0
    # Seconds an RPC call (API -> agent, agent -> conductor) waits for its answer; a conductor's
    # lease on a boot or unshelve lapses rpc_timeout + task_grace after the row's last write.
    rpc_timeout: float = 60.0
    # Seconds a graceful stop (os-stop, shelve, resize) waits for the guest OS before a hard stop.
    shutdown_timeout: float = 60.0
    # Seconds a shelved server keeps its host before it is offloaded: 0 at once, -1 never (Nova's).
    shelved_offload_time: int = 0
    # Base URL of the noVNC page remote-console URLs point at (default: /novnc/vnc_lite.html on the
    # address the client reached the API at; the proxy is served there, compute/novncproxy.py).
    novncproxy_base_url: str = ""
    # Nova's allow_resize_to_same_host: a resize may pick the server's own host. Unset ("auto"):
    # true exactly when the cloud runs one compute host (hosts = 1), as DevStack sets it there.
    allow_resize_to_same_host: bool | None = None
    # Seconds a spawn waits for the network service's network-vif-plugged event of each new port
    # (Nova's vif_plugging_timeout); then the build fails if vif_plugging_is_fatal, else goes on.
    vif_plugging_timeout: float = 300.0
    vif_plugging_is_fatal: bool = True
    # Seconds between refreshes of the network info caches of a host's servers (Nova's
    # heal_instance_info_cache_interval): addresses changed outside compute show up by then.
    heal_interval: float = 60.0

    def resize_to_same_host(self) -> bool:
        """The setting in effect (``allow_resize_to_same_host``, or its automatic value)."""
        if self.allow_resize_to_same_host is None:
            return self.hosts == 1
        return self.allow_resize_to_same_host


@dataclass
class SchedulerConfig:
    # Nova's [filter_scheduler] options. Filters and weighers by class name, comma-separated,
    # applied in this order (DevStack's set; placement has already checked resources).
    enabled_filters: str = (
        "AvailabilityZoneFilter,ComputeFilter,ComputeCapabilitiesFilter,ImagePropertiesFilter,"
        "ServerGroupAntiAffinityFilter,ServerGroupAffinityFilter,SameHostFilter,DifferentHostFilter"
    )
    weight_classes: str = (
        "RAMWeigher,CPUWeigher,DiskWeigher,ServerGroupSoftAffinityWeigher,"
        "ServerGroupSoftAntiAffinityWeigher,NumInstancesWeigher"
    )
    # Positive spreads instances over hosts, negative stacks them; aggregates may override.
    ram_weight_multiplier: float = 1.0
    cpu_weight_multiplier: float = 1.0
    disk_weight_multiplier: float = 1.0
    soft_affinity_weight_multiplier: float = 1.0
    soft_anti_affinity_weight_multiplier: float = 1.0
    num_instances_weight_multiplier: float = 0.0
    # Pick at random among this many best hosts (reduces races between schedulers).
    host_subset_size: int = 1
    # Hosts tried per instance (the chosen one + alternates for rescheduling).
    max_attempts: int = 3


@dataclass
class PlacementConfig:
    # Optional YAML file of policy rules that override the placement defaults.
    policy_file: str = ""
    # Most allocation candidates one GET /allocation_candidates computes (before `limit`).
    max_allocation_candidates: int = 1000


@dataclass
class NetworkConfig:
    enabled: bool = True
    # Optional YAML file of policy rules that override the network defaults.
    policy_file: str = ""
    # MTU of new networks (Neutron's global_physnet_mtu less the VXLAN overhead is 1450; one host has none).
    default_mtu: int = 1500
    # The first three octets of generated MACs (Neutron's base_mac, fa:16:3e:00:00:00).
    base_mac: str = "fa:16:3e:00:00:00"
    # Most fixed IPs one port may have (Neutron's max_fixed_ips_per_port).
    max_fixed_ips_per_port: int = 5
    # Seconds an agent may miss its heartbeat before it is shown down (Neutron's agent_down_time).
    agent_down_time: int = 75
    # DHCP agents each network with a DHCP subnet gets (Neutron's dhcp_agents_per_network); an admin may add more.
    dhcp_agents_per_network: int = 1
    # The availability zone the network agents of this process report (Neutron's [AGENT]
    # availability_zone); networks' and routers' availability_zone_hints name these zones.
    availability_zone: str = "nova"
    # Zones (comma-separated) a network or router without hints is scheduled in (Neutron's
    # default_availability_zones); empty: any zone.
    default_availability_zones: str = ""
    # Seconds between a network agent's heartbeats (Neutron's report_interval).
    report_interval: float = 30.0
    # Seconds between a network agent's periodic reconcile passes (a nudge from the server comes sooner).
    reconcile_interval: float = 10.0
    # Seconds a network agent waits for the server's answer on the bus.
    rpc_timeout: float = 60.0
    # DevStack's networks at first start (network/bootstrap.py): the default subnet pools, public
    # (external, 172.24.4.0/24 and 2001:db8::/64), private (IPv4 and SLAAC IPv6), shared, router1.
    bootstrap_networks: bool = True
    public_cidr: str = "172.24.4.0/24"
    public_cidr_v6: str = "2001:db8::/64"
    # The private subnet: taken from the IPv4 default pool when it lies inside it.
    private_cidr: str = "10.0.0.0/26"
    # DevStack's SUBNETPOOL_PREFIX_V4 (its IPV4_ADDRS_SAFE_TO_USE) and SUBNETPOOL_PREFIX_V6.
    subnetpool_prefix_v4: str = "10.0.0.0/22"
    subnetpool_prefix_v6: str = "2001:db8:8000::/48"
    # The DNS domain of ports' dns_assignment (Neutron's [DEFAULT] dns_domain).
    dns_domain: str = "openstacklocal."

    def default_zones(self) -> list[str]:
        """``default_availability_zones`` as a list."""
        return [z.strip() for z in self.default_availability_zones.split(",") if z.strip()]


@dataclass
class VolumeConfig:
    enabled: bool = True
    # Optional YAML file of policy rules that override the block-storage defaults.
    policy_file: str = ""
    # The volume agent host ``onestack up`` runs (Cinder's ``host``); empty: this machine's host name.
    host: str = ""
    # Backends of each volume agent, comma-separated NAME[:thin|thick] (a directory each, under
    # <data dir>/volumes/<host>/<name>, holding one disk file per volume).
    backends: str = "file-1"
    # Disk format of the file driver's volumes: qcow2 (needs qemu-img), raw (sparse files), or auto.
    volume_format: str = "auto"
    # The volume type of a volume created without one (Cinder's default_volume_type).
    default_volume_type: str = "__DEFAULT__"
    # The public multiattach volume type the first start makes (DevStack's ENABLE_VOLUME_MULTIATTACH
    # and VOLUME_TYPE_MULTIATTACH); empty: none.
    multiattach_volume_type: str = "multiattach"
    # The availability zone of the volume agents (Cinder's storage_availability_zone).
    storage_availability_zone: str = "nova"
    # Capacity the file backends report: 0 means the file system's own size and free space.
    capacity_gb: int = 0
    max_over_subscription_ratio: float = 20.0
    reserved_percentage: int = 0
    # Cinder's scheduler_default_filters / scheduler_default_weighers, class names, comma-separated.
    scheduler_default_filters: str = "AvailabilityZoneFilter,CapacityFilter,CapabilitiesFilter"
    scheduler_default_weighers: str = "CapacityWeigher"
    capacity_weight_multiplier: float = 1.0
    allocated_capacity_weight_multiplier: float = -1.0
    # Seconds between a volume agent's reports (capacity, heartbeat; Cinder's report_interval).
    report_interval: float = 10.0
    # Seconds without a report after which a volume service is shown down (Cinder's service_down_time).
    service_down_time: int = 60
    # Seconds between a volume agent's reconcile passes (a stuck creating/deleting is driven on).
    reconcile_interval: float = 10.0
    # Seconds a call on the bus waits for the answer.
    rpc_timeout: float = 60.0
    # Seconds an attached volume's migration may stand still after its copy (neither the volume,
    # its target nor the target's attachments changing) before the scheduler takes compute's swap
    # or the completion for dead and rolls the migration forward or back.
    attached_migration_timeout: float = 300.0
    # Where backups are kept (Cinder's posix backup driver); empty: <data dir>/backups.
    backup_dir: str = ""
    # Where backups go: "posix" (backup_dir) or "swift" (the object store's service account,
    # Cinder's swift backup driver; container volumebackups unless the request names one).
    backup_driver: str = "posix"
    # Bytes per chunk object of a swift backup (Cinder's backup_swift_object_size).
    backup_swift_object_size: int = 52428800


@dataclass
class ObjectStoreConfig:
    enabled: bool = True
    # The object agent host ``onestack up`` runs; empty: this machine's host name.
    host: str = ""
    # Replicas of every object (the ring's replica count). ``up`` makes one device per replica,
    # each in its own zone, under <data dir>/objects/<host>/<device>.
    replicas: int = 1
    # Devices of the local object agent, comma-separated names; empty: d1..d<replicas>.
    devices: str = ""
    # 2**part_power partitions in the ring (Swift's part_power).
    part_power: int = 10
    # Salt of the hash that places an object (Swift's swift_hash_path_suffix); empty: made once and
    # kept in the data dir's secrets.
    hash_path_suffix: str = ""
    # Swift's constraints (advertised under /info "swift").
    max_file_size: int = 5 * 1024 ** 3
    max_meta_name_length: int = 128
    max_meta_value_length: int = 256
    max_meta_count: int = 90
    max_meta_overall_size: int = 4096
    max_header_size: int = 8192
    max_object_name_length: int = 1024
    container_listing_limit: int = 10000
    account_listing_limit: int = 10000
    max_account_name_length: int = 256
    max_container_name_length: int = 256
    # keystoneauth: roles that own the account of their project, the reseller admin role, and the
    # roles that may only read it.
    operator_roles: str = "admin,member"
    reseller_admin_role: str = "ResellerAdmin"
    reader_roles: str = "reader"
    # Seconds between passes of the per-host daemons (Swift's interval of each).
    replicator_interval: float = 30.0
    auditor_interval: float = 60.0
    updater_interval: float = 10.0
    expirer_interval: float = 10.0
    # Bytes per second the auditor reads on each device (Swift's bytes_per_second), so that it
    # does not starve the host's reads and writes.
    auditor_bytes_per_second: int = 10 * 1024 * 1024
    # Seconds between an object agent's device reports (its heartbeat; the ring comes back).
    report_interval: float = 10.0
    # Seconds between the proxy's checks for a newer ring in the database (Swift's reload_time).
    ring_check_interval: float = 15.0
    # ``onestack ring rebalance`` moves no replica of a partition for balance within this many
    # hours of its last move (Swift's min_part_hours; 1 as DevStack's and the install guide's rings).
    min_part_hours: int = 1
    # Seconds a proxy keeps what object requests read about their account and container
    # (existence, ACLs, metadata; Swift's recheck_container_existence, in memcache there); this
    # process's own container writes drop it at once, another process's are seen within this. 0: off.
    info_cache_ttl: float = 1.0
    # Seconds a proxy waits for an object server (Swift's node_timeout / conn_timeout).
    node_timeout: float = 10.0
    # A proxy skips an object server with more than ``error_suppression_limit`` connection errors
    # until ``error_suppression_interval`` seconds pass without one (Swift's proxy options).
    error_suppression_interval: float = 60.0
    error_suppression_limit: int = 10
    # The object server's HTTP address of ``onestack agent object`` (the ring records it).
    bind_host: str = "127.0.0.1"
    bind_port: int = 6200
    # Seconds a call on the bus waits for the answer.
    rpc_timeout: float = 30.0


@dataclass
class BootstrapConfig:
    # Empty means generate one on first start and print it once.
    admin_password: str = ""
    demo_password: str = ""
    region: str = "RegionOne"


@dataclass
class AuthConfig:
    # Where services validate tokens when identity runs in another process.
    identity_url: str = ""
    service_username: str = "onestack"
    service_password: str = ""
    service_project: str = "service"
    cache_ttl: float = 60.0


@dataclass
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    log: LogConfig = field(default_factory=LogConfig)
    messaging: MessagingConfig = field(default_factory=MessagingConfig)
    identity: IdentityConfig = field(default_factory=IdentityConfig)
    image: ImageConfig = field(default_factory=ImageConfig)
    placement: PlacementConfig = field(default_factory=PlacementConfig)
    network: NetworkConfig = field(default_factory=NetworkConfig)
    volume: VolumeConfig = field(default_factory=VolumeConfig)
    object_store: ObjectStoreConfig = field(default_factory=ObjectStoreConfig)
    compute: ComputeConfig = field(default_factory=ComputeConfig)
    scheduler: SchedulerConfig = field(default_factory=SchedulerConfig)
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)

    @property
    def data_dir(self) -> Path:
        return Path(self.server.data_dir)

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite:///{self.data_dir / 'onestack.db'}"

    @property
    def base_url(self) -> str:
        return self.server.public_url.rstrip("/") or f"http://{self.server.host}:{self.server.port}"


def _coerce(value: Any, typ: Any, where: str) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "on"):
            return True
        if isinstance(value, str) and value.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{where}: expected a boolean, got {value!r}")
    if typ is int:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ConfigError(f"{where}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if typ is float:
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if typ is str:
        if not isinstance(value, (str, int, float)) or isinstance(value, bool):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return str(value)
    raise ConfigError(f"{where}: unsupported type {typ!r}")


def _apply(obj: Any, values: Mapping[str, Any], where: str) -> None:
    hints = typing.get_type_hints(type(obj))
    names = {f.name for f in dataclasses.fields(obj)}
    for key, value in values.items():
        norm = key.replace("-", "_")
        if norm not in names:
            raise ConfigError(f"unknown configuration key {where}{key}")
        typ = hints[norm]
        if dataclasses.is_dataclass(typ):
            if not isinstance(value, Mapping):
                raise ConfigError(f"{where}{key}: expected a table")
            _apply(getattr(obj, norm), value, f"{where}{key}.")
        else:
            if isinstance(typ, types.UnionType):
                arms = [a for a in typ.__args__ if a is not type(None)]
                if arms == [bool] and (value is None or (isinstance(value, str) and value.lower() in ("", "auto"))):
                    setattr(obj, norm, None)  # an optional bool: unset or "auto" means its automatic value
                    continue
                typ = arms[0] if len(arms) == 1 else str
            setattr(obj, norm, _coerce(value, typ, f"{where}{key}"))


def _env_tree(environ: Mapping[str, str]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for name, value in environ.items():
        if not name.startswith(ENV_PREFIX):
            continue
        path = [p.lower() for p in name[len(ENV_PREFIX):].split("__") if p]
        if len(path) < 2:
            continue
        node = tree
        for part in path[:-1]:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{name}: {part} is a value, not a section")
        node[path[-1]] = value
    return tree


def load_config(
    path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Build the settings object; later sources win. ``overrides`` uses dotted keys."""
    cfg = Config()
    if path:
        try:
            with open(path, "rb") as fh:
                _apply(cfg, tomllib.load(fh), "")
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: {exc}") from None
    _apply(cfg, _env_tree(os.environ if environ is None else environ), "")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node: dict[str, Any] = {}
        root = node
        parts = dotted.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
        _apply(cfg, root, "")
    return cfg


def describe(cfg: Config | None = None) -> list[tuple[str, str, Any]]:
    """Every key as (dotted name, type, default) — used to document and to test the docs."""
    out: list[tuple[str, str, Any]] = []

    def walk(obj: Any, prefix: str) -> None:
        hints = typing.get_type_hints(type(obj))
        for f in dataclasses.fields(obj):
            value = getattr(obj, f.name)
            if dataclasses.is_dataclass(value):
                walk(value, f"{prefix}{f.name}.")
            elif hints[f.name] == bool | None:  # an optional bool: written true, false or "auto"
                out.append((prefix + f.name, "bool", "auto" if value is None else value))
            else:
                out.append((prefix + f.name, getattr(hints[f.name], "__name__", str(hints[f.name])), value))

    walk(cfg or Config(), "")
    return out
