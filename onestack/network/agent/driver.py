"""The network driver interface: the contract every data plane a host's agent drives is held to.

A network agent owns one host's virtual wiring and touches it only through a ``NetworkDriver``.
The contract is written for the hard case — a real Linux host with an integration bridge, tap
devices, network namespaces, dnsmasq and nftables — where plugging a port is several slow steps
that can fail halfway, an operator or a crash changes the host behind the agent's back, and the
agent itself may die between two steps. The fake driver (``agent/fake.py``) simulates exactly
this; ``tests/contract/test_network_drivers.py`` runs one suite over every driver.

Rules that hold for every method:

- Every ``ensure_*`` / ``plug_*`` / ``apply_*`` call is idempotent and declarative: it makes the
  host match the spec it is given, whatever the host had before (nothing, a half-done earlier
  call, an older spec), and repeating it changes nothing. Every ``remove_*`` / ``unplug_*`` is
  idempotent too: removing what is not there succeeds.
- A failed call raises a ``NetworkDriverError`` and may leave the thing half-done; ``observed()``
  then does not show it as it was asked (a half-plugged port is not a plugged port), so the next
  reconcile pass calls again and finishes it. A cancelled call behaves as a failed one.
- ``observed()`` reports what the host has now, in the very shapes the server sends as desired
  state (``network/rpcapi.py``: ``HostState``), so desired and observed compare by equality. Only
  complete things appear: a port whose tap exists but is not on the bridge is absent.
- State outlives the agent: a driver built again for the same host (the agent restarted) observes
  everything the previous one had wired, as bridges and namespaces outlive neutron's agents.
- Calls on different objects may run concurrently; the agent never runs two calls on one object
  at once. Every method is a coroutine and never blocks the event loop.
- The driver holds no database and asks no one: what to wire is what it is told.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from onestack.core.rpc import remote_error
from onestack.network.rpcapi import DhcpSpec, FilterSpec, HostState, PortSpec, RouterSpec


@remote_error
class NetworkDriverError(Exception):
    """A host operation failed; what it did so far may remain (the next pass finishes it)."""


class NetworkDriver(Protocol):
    """One host's data plane. See the module docstring for the rules every method keeps."""

    async def observed(self) -> HostState:
        """What the host has wired now: complete ports, filters, DHCP servers and routers."""

    async def plug_port(self, port: PortSpec) -> None:
        """Wire the port: its tap device (``tap`` + the first 11 characters of the id, as
        Neutron names it) on the integration bridge, tagged for its network's segment, with its
        MAC and MTU, up when ``admin_state_up``. A port already plugged with another spec (a new
        fixed IP, a new MTU) is re-wired to this one."""

    async def unplug_port(self, port_id: str) -> None:
        """Remove the port's tap from the bridge and the host; its filter goes with it."""

    async def apply_port_filter(self, spec: FilterSpec) -> None:
        """Enforce the port's security group rules (stateful or not), anti-spoofing of its MAC and
        addresses; with ``port_security`` false, no filtering at all. Replaces the port's rules.
        The port need not be plugged yet (the filter is ready when it is)."""

    async def remove_port_filter(self, port_id: str) -> None:
        """Drop every rule of the port."""

    async def ensure_dhcp(self, spec: DhcpSpec) -> None:
        """Serve DHCP for the subnet (a namespace ``qdhcp-<network id>`` per network and a
        server in it) with exactly the spec's leases, gateway, DNS servers and host routes."""

    async def remove_dhcp(self, subnet_id: str) -> None:
        """Stop serving the subnet; the network's namespace goes with its last subnet."""

    async def ensure_router(self, spec: RouterSpec) -> None:
        """Run the router: namespace ``qrouter-<id>``, one interface per spec interface, the
        gateway interface with SNAT of the interfaces' subnets when ``enable_snat``, the extra
        routes, and DNAT/SNAT of each floating IP. Anything of the router not in the spec goes.
        A router not ``admin_state_up`` is wired all the same but forwards nothing (its
        interfaces down), so its ports are wired and it comes up at once when set admin-up."""

    async def remove_router(self, router_id: str) -> None:
        """Remove the router's namespace and everything in it."""


@runtime_checkable
class Inspectable(Protocol):
    """An optional ability: a driver whose model tests can read and disturb (the fake's)."""

    def model(self) -> dict[str, object]:
        """The host as a JSON-safe document (bridges, taps, namespaces, leases, rules)."""

    def drift(self, kind: str, key: str) -> None:
        """Break one thing behind the agent's back, as an operator or a crash would: ``kind``
        ``tap`` (remove a port's tap), ``filter``, ``dhcp`` or ``router`` (remove by id)."""
