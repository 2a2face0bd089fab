"""Every compute path and method of Nova's API description up to our advertised microversion is routed.

Walks /work/shared/api-specs' compute description (OpenAPI, newer than our maximum) and keeps the
operations whose ``min-ver`` is at most our ``MAX_VERSION``; each must match a route of the compute
service (answering an error by Nova's own rules is fine, a router 404 is not). The exemptions are
families onestack cannot serve: they proxy to a block-storage or network service it does not run.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from onestack.compute.api.versions import MAX_VERSION
from onestack.compute.app import API_MODULES

ROOT = Path(__file__).resolve().parents[2]
# ../shared beside the main checkout, ../../shared beside a worktree under wt/.
SPEC_DIRS = [ROOT.parent / "shared" / "api-specs", ROOT.parent.parent / "shared" / "api-specs"]

# Proxies to Cinder (volumes, snapshots, attachments) and Neutron (networks, security groups,
# floating IPs, ports): onestack has neither service, so there is nothing to proxy to.
EXEMPT_PREFIXES = (
    "/v2.1/os-volumes", "/v2.1/os-snapshots", "/v2.1/os-assisted-volume-snapshots",
    "/v2.1/os-security-groups", "/v2.1/os-security-group-rules", "/v2.1/os-floating-ip-pools",
    "/v2.1/os-floating-ips/", "/v2.1/os-networks", "/v2.1/os-tenant-networks", "/v2.1/os-baremetal-nodes",
)
EXEMPT = {
    ("GET", "/v2.1/os-floating-ips"), ("POST", "/v2.1/os-floating-ips"),
    ("GET", "/v2.1/servers/{}/os-security-groups"),
    # Interfaces and volume attachments need Neutron ports and Cinder volumes.
    ("GET", "/v2.1/servers/{}/os-interface"), ("POST", "/v2.1/servers/{}/os-interface"),
    ("GET", "/v2.1/servers/{}/os-interface/{}"), ("DELETE", "/v2.1/servers/{}/os-interface/{}"),
    ("GET", "/v2.1/servers/{}/os-volume_attachments"), ("POST", "/v2.1/servers/{}/os-volume_attachments"),
    ("GET", "/v2.1/servers/{}/os-volume_attachments/{}"), ("PUT", "/v2.1/servers/{}/os-volume_attachments/{}"),
    ("DELETE", "/v2.1/servers/{}/os-volume_attachments/{}"),
    # Consoles are served by the console work (another part of the same issue).
    ("GET", "/v2.1/os-console-auth-tokens/{}"),
}


def _template(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def _version(text: str) -> tuple[int, int]:
    major, minor = text.split(".")
    return int(major), int(minor)


def _spec() -> dict:
    for folder in SPEC_DIRS:
        found = sorted(folder.glob("compute_v2.*.yaml"))
        if found:
            return dict(yaml.safe_load(found[-1].read_text()))
    pytest.fail(f"no compute API description under {SPEC_DIRS}")


def test_every_spec_operation_up_to_max_version_is_routed() -> None:
    ours = {(method, _template(route.path)) for module in API_MODULES for route in module.routes.routes
            for method in route.methods or ()}
    newest = (MAX_VERSION.major, MAX_VERSION.minor)
    wanted, missing = set(), []
    for path, ops in _spec()["paths"].items():
        for method, op in ops.items():
            if method not in ("get", "put", "post", "delete", "patch"):
                continue
            if _version((op.get("x-openstack") or {}).get("min-ver", "2.1")) > newest:
                continue
            key = (method.upper(), _template(path))
            wanted.add(key)
            if key in EXEMPT or key[1].startswith(EXEMPT_PREFIXES):
                continue
            if key not in ours:
                missing.append(key)
    assert len(wanted) > 150, "the description should list Nova's whole API"
    assert missing == [], f"compute operations the router does not serve: {sorted(missing)}"
    # An exemption that became routed (or left the description) is stale: drop it.
    assert not [k for k in EXEMPT if k in ours or k not in wanted]
