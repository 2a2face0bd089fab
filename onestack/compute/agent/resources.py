"""What an agent reports: its service heartbeat, its compute node, and its inventory in placement."""

from __future__ import annotations

from typing import Any

from onestack.client.placement import PlacementClient, node_uuid
from onestack.compute.virt.driver import HostInfo
from onestack.core.config import Config


def node_record(host: str, info: HostInfo, config: Config) -> dict[str, Any]:
    c = config.compute
    return {
        "uuid": node_uuid(host, info.hypervisor_hostname), "hypervisor_hostname": info.hypervisor_hostname,
        "hypervisor_type": info.hypervisor_type, "hypervisor_version": info.hypervisor_version,
        "host_ip": info.host_ip, "cpu_info": info.cpu_info, "vcpus": info.vcpus, "memory_mb": info.memory_mb,
        "local_gb": info.local_gb, "vcpus_used": info.vcpus_used, "memory_mb_used": info.memory_mb_used,
        "local_gb_used": info.local_gb_used, "running_vms": info.running_vms,
        "cpu_allocation_ratio": c.cpu_allocation_ratio, "ram_allocation_ratio": c.ram_allocation_ratio,
        "disk_allocation_ratio": c.disk_allocation_ratio,
    }


def inventory(info: HostInfo, config: Config) -> dict[str, dict[str, Any]]:
    c = config.compute
    return {
        "VCPU": {"total": info.vcpus, "reserved": 0, "min_unit": 1, "max_unit": info.vcpus, "step_size": 1,
                 "allocation_ratio": c.cpu_allocation_ratio},
        "MEMORY_MB": {"total": info.memory_mb, "reserved": 0, "min_unit": 1, "max_unit": info.memory_mb,
                      "step_size": 1, "allocation_ratio": c.ram_allocation_ratio},
        "DISK_GB": {"total": info.local_gb, "reserved": 0, "min_unit": 1, "max_unit": info.local_gb,
                    "step_size": 1, "allocation_ratio": c.disk_allocation_ratio},
    }


async def report_inventory(placement: PlacementClient, node: dict[str, Any], info: HostInfo, config: Config) -> None:
    await placement.ensure_provider(node["uuid"], node["hypervisor_hostname"])
    await placement.set_inventory(node["uuid"], inventory(info, config))
    await placement.add_traits(node["uuid"], info.traits)
