"""Small builders for scheduler tests."""

from __future__ import annotations

from typing import Any

from onestack.compute.scheduler.host_state import Aggregate, HostState
from onestack.compute.scheduler.request import Flavor, InstanceGroup, RequestSpec


def host(name: str = "h1", **kw: Any) -> HostState:
    """A healthy, empty 16-vCPU / 32 GiB / 500 GiB host unless told otherwise."""
    values: dict[str, Any] = {"vcpus_total": 16, "memory_mb": 32768, "disk_gb": 500,
                              "uuid": f"rp-{name}"}
    values.update(kw)
    return HostState(host=name, **values)


def spec(**kw: Any) -> RequestSpec:
    flavor = kw.pop("flavor", None) or Flavor(vcpus=2, memory_mb=2048, root_gb=20)
    extra_specs = kw.pop("extra_specs", None)
    if extra_specs is not None:
        flavor.extra_specs = extra_specs
    return RequestSpec(flavor=flavor, **kw)


def group(policy: str, **kw: Any) -> InstanceGroup:
    return InstanceGroup(uuid=kw.pop("uuid", "g1"), policy=policy, **kw)


def aggregate(name: str, hosts: list[str], **metadata: str) -> Aggregate:
    return Aggregate(id=abs(hash(name)) % 10_000, name=name, hosts=hosts, metadata=metadata)
