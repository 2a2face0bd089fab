"""Typed clients for compute's messages on the bus: conductor, scheduler and each host's agent.

Arguments are JSON-safe (instances travel as the dicts ``service.instances.to_dict`` makes), so
the same messages can cross processes over AMQP.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from onestack.core.bus import Bus, Message, NoSuchMethod

CONDUCTOR = "conductor"
SCHEDULER = "scheduler"


class _Legacy:
    """Transitional: untyped sends by method name (replaced by core/rpc declarations)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = bus

    async def call(self, topic: str, method: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return await self.bus.call(topic, Message(method, kwargs), timeout)

    async def cast(self, topic: str, method: str, **kwargs: Any) -> None:
        await self.bus.cast(topic, Message(method, kwargs))


def dict_dispatcher(table: dict[str, Callable[..., Awaitable[Any]]]) -> Callable[[Message], Awaitable[Any]]:
    async def dispatch(message: Message) -> Any:
        fn = table.get(message.method)
        if fn is None:
            raise NoSuchMethod("NoSuchMethod", message.method)
        return await fn(**message.args)

    return dispatch


def agent_topic(host: str) -> str:
    return f"compute.{host}"


class ConductorAPI:
    """What the API and the agents ask the conductor (the only one of them that writes rows)."""

    def __init__(self, bus: Bus) -> None:
        self.bus = _Legacy(bus)

    async def build_instances(self, instance_uuids: list[str], request_id: str) -> None:
        await self.bus.cast(CONDUCTOR, "build_instances", instance_uuids=instance_uuids, request_id=request_id)

    async def instance_update(self, uuid: str, values: dict[str, Any],
                              expected_task_state: list[str | None] | None = None,
                              expected_vm_state: list[str] | None = None,
                              event: dict[str, Any] | None = None) -> dict[str, Any]:
        """The updated instance; raises RemoteError(kind="UnexpectedTaskState"/"NotFound").

        ``event`` ({request_id, name, started, host, result, message}) records a finished
        instance-action event in the same transaction (one write instead of three)."""
        result: dict[str, Any] = await self.bus.call(
            CONDUCTOR, "instance_update", uuid=uuid, values=values, expected_task_state=expected_task_state,
            expected_vm_state=expected_vm_state, event=event)
        return result

    async def instance_fault(self, uuid: str, code: int, message: str, details: str = "",
                             host: str | None = None) -> None:
        await self.bus.call(CONDUCTOR, "instance_fault", uuid=uuid, code=code, message=message, details=details,
                            host=host)

    async def action_event(self, uuid: str, request_id: str | None, event: str, phase: str,
                           host: str | None = None, result: str = "Success", message: str | None = None) -> None:
        await self.bus.call(CONDUCTOR, "action_event", uuid=uuid, request_id=request_id, event=event,
                            phase=phase, host=host, result=result, message=message)

    async def build_failed(self, uuid: str, host: str, reason: str, request_id: str | None,
                           reschedule: bool = True) -> None:
        await self.bus.call(CONDUCTOR, "build_failed", uuid=uuid, host=host, reason=reason,
                            request_id=request_id, reschedule=reschedule)

    async def instance_destroyed(self, uuid: str, host: str) -> None:
        await self.bus.call(CONDUCTOR, "instance_destroyed", uuid=uuid, host=host)

    async def instances_on_host(self, host: str) -> list[dict[str, Any]]:
        result: list[dict[str, Any]] = await self.bus.call(CONDUCTOR, "instances_on_host", host=host)
        return result

    async def service_report(self, host: str, binary: str, node: dict[str, Any] | None) -> dict[str, Any]:
        result: dict[str, Any] = await self.bus.call(CONDUCTOR, "service_report", host=host, binary=binary,
                                                     node=node)
        return result

    async def migration_update(self, migration_uuid: str, values: dict[str, Any]) -> None:
        await self.bus.call(CONDUCTOR, "migration_update", migration_uuid=migration_uuid, values=values)

    async def call(self, method: str, **kwargs: Any) -> Any:
        """Conductor methods the action modules add (resize, migrate, ...)."""
        return await self.bus.call(CONDUCTOR, method, **kwargs)

    async def cast(self, method: str, **kwargs: Any) -> None:
        await self.bus.cast(CONDUCTOR, method, **kwargs)


class SchedulerAPI:
    def __init__(self, bus: Bus) -> None:
        self.bus = _Legacy(bus)

    async def select_destinations(self, spec: dict[str, Any]) -> list[dict[str, Any]]:
        """One {host, node, rp_uuid, alternates: [...]} per instance, claimed in placement;
        raises RemoteError(kind="NoValidHost")."""
        result: list[dict[str, Any]] = await self.bus.call(SCHEDULER, "select_destinations", spec=spec)
        return result


class AgentAPI:
    """Casts and calls to the agent of one host (topic ``compute.<host>``)."""

    def __init__(self, bus: Bus, timeout: float = 60.0) -> None:
        self.bus = _Legacy(bus)
        self.timeout = timeout

    async def cast(self, host: str, method: str, **kwargs: Any) -> None:
        await self.bus.cast(agent_topic(host), method, **kwargs)

    async def call(self, host: str, method: str, timeout: float | None = None, **kwargs: Any) -> Any:
        return await self.bus.call(agent_topic(host), method, timeout=timeout or self.timeout, **kwargs)
