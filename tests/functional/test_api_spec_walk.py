"""Every compute path and method of Nova's API description up to our advertised microversion is routed.

``data/compute_operations.txt`` lists Nova's operations (path, method, first microversion) as the
OpenStack compute API description (OpenAPI, newer than our maximum) has them; it is derived from
that description, which lives outside this repository, by running this module with its path (see
``refresh``). Operations whose first microversion is at most our ``MAX_VERSION`` must each match a
route of the compute service (answering an error by Nova's own rules is fine, a router 404 is
not). The exemptions are families onestack cannot serve: they proxy to a block-storage or
network service it does not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from onestack.compute.api.versions import MAX_VERSION
from onestack.compute.app import API_MODULES

OPERATIONS = Path(__file__).resolve().parent / "data" / "compute_operations.txt"
HEADER = ("# Nova's compute API operations (path template, method, first microversion), derived from\n"
          "# {name} of the OpenStack API descriptions (../shared/api-specs) by\n"
          "# `python -m tests.functional.test_api_spec_walk PATH-TO-compute_v2.NNN.yaml`.\n")

# Bare-metal nodes would proxy to Ironic, which onestack does not have; os-volumes_boot is
# Nova's old alias of /servers, not served (Nova itself answers 404 for it from 2.103).
EXEMPT_PREFIXES = ("/v2.1/os-baremetal-nodes", "/v2.1/os-volumes_boot")
EXEMPT = {
    # Consoles are served by the console work (another part of the same issue).
    ("GET", "/v2.1/os-console-auth-tokens/{}"),
}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def refresh(spec_path: Path) -> int:
    """Rewrite ``OPERATIONS`` from an OpenAPI description of the compute API; how many operations."""
    spec = yaml.safe_load(spec_path.read_text())
    rows = {(_template(path), method.upper(), (op.get("x-openstack") or {}).get("min-ver", "2.1"))
            for path, ops in spec["paths"].items() for method, op in ops.items()
            if method in ("get", "put", "post", "delete", "patch")}
    OPERATIONS.write_text(HEADER.format(name=spec_path.name) + "".join(f"{m} {p} {v}\n" for p, m, v in sorted(rows)))
    return len(rows)


def _operations() -> list[tuple[str, str, str]]:
    rows = [line.split() for line in OPERATIONS.read_text().splitlines() if line and not line.startswith("#")]
    return [(method, path, version) for method, path, version in rows]


def test_every_spec_operation_up_to_max_version_is_routed() -> None:
    ours = {(method, _template(route.path)) for module in API_MODULES for route in module.routes.routes
            for method in route.methods or ()}
    newest = (MAX_VERSION.major, MAX_VERSION.minor)
    wanted, missing = set(), []
    for method, path, version in _operations():
        if _version(version) > newest:
            continue
        key = (method, path)
        wanted.add(key)
        if key in EXEMPT or path.startswith(EXEMPT_PREFIXES):
            continue
        if key not in ours:
            missing.append(key)
    assert len(wanted) > 150, "the description should list Nova's whole API"
    assert missing == [], f"compute operations the router does not serve: {sorted(missing)}"
    # An exemption that became routed (or left the description) is stale: drop it.
    assert not [k for k in EXEMPT if k in ours or k not in wanted]


if __name__ == "__main__":
    import sys

    print(refresh(Path(sys.argv[1])), "operations written to", OPERATIONS)
