"""The networks of a boot request, checked with the network service as Nova's API does.

``resolve`` turns the request's ``networks`` (omitted, "auto", "none" or a list of
``{uuid, port, fixed_ip, tag}``) into what the agent creates ports for: "none" or a list of
``{"uuid", "port"?, "fixed_ip"?, "tag"?}``. What can be checked up front is, with Nova's
errors, as the user (so another project's network or port is one that cannot be found):
unknown network / port (400), a port in use (409), a fixed IP in use (400), several possible
networks (409), no network to allocate (400). The agent then creates or binds the ports.
"""

from __future__ import annotations

from typing import Any

from onestack.client.network import NetworkClient, NetworkError
from onestack.compute.api.common import Req
from onestack.core.api.faults import BadRequest, Conflict, Forbidden

AMBIGUOUS = "Multiple possible networks found, use a Network ID to be more specific."


def _unavailable(value: Any) -> str:
    """No network service runs: any named port or network cannot be found; servers get no ports."""
    for net in value if isinstance(value, list) else []:
        if net.get("port"):
            raise BadRequest(f"Port id {net['port']} could not be found.")
        raise BadRequest(f"Network {net['uuid']} could not be found.")
    return "none"


async def _network(client: NetworkClient, net_id: str, token: str | None, admin: bool) -> dict[str, Any]:
    try:
        network = await client.get_network(net_id, user_token=token)
    except NetworkError as exc:
        if exc.status == 404:
            raise BadRequest(f"Network {net_id} could not be found.") from None
        raise
    if network.get("router:external") and not admin and not network.get("shared"):
        raise Forbidden(f"It is not allowed to create an interface on external network {net_id}")
    if not network.get("subnets"):
        raise BadRequest(f"Network {net_id} requires a subnet in order to boot instances on.")
    return network


async def _port(client: NetworkClient, port_id: str, token: str | None) -> dict[str, Any]:
    try:
        port = await client.get_port(port_id, user_token=token)
    except NetworkError as exc:
        if exc.status == 404:
            raise BadRequest(f"Port id {port_id} could not be found.") from None
        raise
    if port.get("device_id"):
        raise Conflict(f"Port {port_id} is still in use.")
    if not port.get("fixed_ips"):
        raise BadRequest(f"Port {port_id} requires a FixedIP in order to be used.")
    return port


async def _fixed_ip_free(client: NetworkClient, net_id: str, address: str, token: str | None) -> None:
    """As the user, as Nova: a port the user cannot see (another project's, on a shared network)
    is not named here; the port create then fails and so does the build."""
    ports = await client.list("ports", user_token=token, network_id=net_id, fixed_ips=f"ip_address={address}")
    used = [p for p in ports if any(ip.get("ip_address") == address for ip in p.get("fixed_ips") or [])]
    if used:
        raise BadRequest(f"Fixed IP address {address} is already in use on instance {used[0].get('device_id')}.")


async def _available(client: NetworkClient, project_id: str, token: str | None) -> list[dict[str, Any]]:
    """Nova's _get_available_networks: the project's own networks, then the shared ones."""
    own = await client.list("networks", user_token=token, project_id=project_id, shared=False)
    shared = await client.list("networks", user_token=token, shared=True)
    seen: dict[str, dict[str, Any]] = {}
    for net in [*own, *shared]:
        seen.setdefault(str(net["id"]), net)
    return list(seen.values())


async def _automatic(client: NetworkClient, value: Any, project_id: str, token: str | None) -> Any:
    """Omitted (before 2.37) or "auto": the one network available, or get-me-a-network."""
    nets = await _available(client, project_id, token)
    if len(nets) > 1:
        raise Conflict(AMBIGUOUS)
    if nets:
        return [{"uuid": str(nets[0]["id"])}]
    if value != "auto":
        return "none"  # Nova boots a server with no network when none is available
    try:
        net_id = await client.auto_allocated_topology(project_id, user_token=token)
    except NetworkError:
        raise BadRequest(f"Unable to automatically allocate a network for project {project_id}") from None
    return [{"uuid": net_id}]


async def resolve(req: Req, value: Any, project_id: str, max_count: int, admin: bool) -> Any:
    """``value`` is what the schema passed: None (omitted before 2.37), "auto", "none" or a list."""
    client: NetworkClient | None = req.state.network
    if value == "none":
        return "none"
    if client is None:
        return _unavailable(value)
    token = req.headers.get("X-Auth-Token")
    if not isinstance(value, list) or not value:  # an empty list before 2.37 is as omitted
        return await _automatic(client, value, project_id, token)
    resolved: list[dict[str, Any]] = []
    for net in value:
        entry: dict[str, Any] = {"tag": net["tag"]} if net.get("tag") else {}
        if net.get("port"):
            if max_count > 1:
                raise BadRequest("Unable to launch multiple instances with a single configured port ID. "
                                 "Please launch your instance one by one with different ports.")
            port = await _port(client, str(net["port"]), token)
            resolved.append({"uuid": str(port["network_id"]), "port": str(port["id"]), **entry})
            continue
        await _network(client, str(net["uuid"]), token, admin)
        if net.get("fixed_ip"):
            if max_count > 1:
                raise BadRequest("max_count cannot be greater than 1 if an fixed_ip is specified.")
            await _fixed_ip_free(client, str(net["uuid"]), str(net["fixed_ip"]), token)
            entry["fixed_ip"] = str(net["fixed_ip"])
        resolved.append({"uuid": str(net["uuid"]), **entry})
    return resolved


async def check_security_groups(req: Req, names: list[str], project_id: str) -> bool:
    """Nova resolves the names in the project (400 unknown, 409 ambiguous). False: no network
    service to ask (the boot checks against the implicit default group instead)."""
    client: NetworkClient | None = req.state.network
    if client is None or not names:
        return client is not None
    found = await client.security_group_ids(project_id, names, user_token=req.headers.get("X-Auth-Token"))
    for name in names:
        if not found.get(name):
            raise BadRequest(f"Security group {name} not found.")
        if len(found[name]) > 1:
            raise Conflict(f"Multiple security groups found matching '{name}'. Use an ID to be more specific.")
    return True
