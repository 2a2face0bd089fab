"""DevStack's default flavors, created once when the compute service is enabled.

DevStack creates the m1.* family and its small ds*/cirros256 flavors, each with
``hw_rng:allowed=True``; ids as DevStack assigns them.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from onestack.compute.models import BootstrapStep, Flavor
from onestack.compute.service import flavors

# (id, name, ram MB, vCPUs, disk GB)
DEFAULT_FLAVORS: list[tuple[str, str, int, int, int]] = [
    ("1", "m1.tiny", 512, 1, 1),
    ("2", "m1.small", 2048, 1, 20),
    ("3", "m1.medium", 4096, 2, 40),
    ("4", "m1.large", 8192, 4, 80),
    ("5", "m1.xlarge", 16384, 8, 160),
    ("c1", "cirros256", 256, 1, 1),
    ("d1", "ds512M", 512, 1, 5),
    ("d2", "ds1G", 1024, 1, 10),
    ("d3", "ds2G", 2048, 2, 10),
    ("d4", "ds4G", 4096, 4, 20),
]
EXTRA_SPECS = {"hw_rng:allowed": "True"}


STEP = "default_flavors"


def create_default_flavors(s: Session) -> list[str]:
    """Create the defaults once (a default the operator deletes stays deleted); returns the ids created."""
    created: list[str] = []
    if s.get(BootstrapStep, STEP) is not None:
        return created
    s.add(BootstrapStep(name=STEP))
    existing_ids = set(s.scalars(select(Flavor.flavorid)))
    existing_names = set(s.scalars(select(Flavor.name)))
    for flavorid, name, ram, vcpus, disk in DEFAULT_FLAVORS:
        if flavorid in existing_ids or name in existing_names:
            continue
        flavors.create_flavor(s, {"flavorid": flavorid, "name": name, "memory_mb": ram, "vcpus": vcpus,
                                  "root_gb": disk, "ephemeral_gb": 0, "swap": 0, "rxtx_factor": 1.0,
                                  "is_public": True, "description": None}, dict(EXTRA_SPECS))
        created.append(flavorid)
    return created
