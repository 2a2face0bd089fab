"""Typed bus messages: each topic's methods are declared once, in the owning service's ``rpcapi``.

A declaration is a class of async methods whose bodies are ``...``: the signature is the
message (names, types, defaults), the return annotation is the reply. Callers hold an
instance bound to a bus and call the methods; the implementation side serves the same class
with objects that implement every declared method (checked when serving starts, so a missing
or renamed endpoint fails at start, not at the first message)::

    class SchedulerAPI(RpcAPI):
        topic = "scheduler"
        version = "1.0"

        @call
        async def select_destinations(self, spec: dict[str, Any]) -> list[dict[str, Any]]: ...

    hosts = await SchedulerAPI(bus).select_destinations(spec)       # caller
    await serve(bus, SchedulerAPI, scheduler_manager)                # implementation

A routed API (one topic per host) names the routing argument in ``route_by``; that argument picks
the topic ``<topic>.<value>`` and is not sent. Exceptions registered with ``remote_error`` come
back to the caller as their own class (mixed with ``RemoteError``), so call sites write
``except NoValidHost`` and never compare kind strings.

Versions: a message carries its API's ``version`` ("major.minor"); a server refuses a message
of another major version or a newer minor version than its own (``IncompatibleVersion``).
"""

from __future__ import annotations

import copy
import functools
import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Concatenate, Literal, ParamSpec, TypeVar

from onestack.core.bus import Bus, Message, NoSuchMethod, RemoteError, Subscription

P = ParamSpec("P")
R = TypeVar("R")
E = TypeVar("E", bound=type[BaseException])
Kind = Literal["call", "cast", "fanout"]

_ERRORS: dict[str, type[BaseException]] = {}
_REMOTE_CLASSES: dict[str, type[BaseException]] = {}


def remote_error(cls: E) -> E:
    """Register an exception class that may cross the bus and be raised again on the far side."""
    name = cls.__name__
    known = _ERRORS.get(name)
    if known is not None and known is not cls:
        raise TypeError(f"two remote errors named {name}: {known.__module__} and {cls.__module__}")
    _ERRORS[name] = cls
    return cls


class IncompatibleVersion(Exception):
    """The server speaks another version of this API."""


remote_error(IncompatibleVersion)
remote_error(NotImplementedError)
remote_error(NoSuchMethod)


def rebuild(exc: RemoteError) -> BaseException:
    """The registered class of a remote failure (also a ``RemoteError``), or ``exc`` itself."""
    if type(exc) is not RemoteError:
        return exc  # already rebuilt, or raised as its own class
    cls = _ERRORS.get(exc.kind)
    if cls is None:
        return exc
    if issubclass(cls, RemoteError):
        return cls(exc.kind, exc.message)
    remote_cls = _REMOTE_CLASSES.get(exc.kind)
    if remote_cls is None:
        remote_cls = type(cls.__name__, (cls, RemoteError), {"__module__": cls.__module__,
                                                             "__str__": lambda self: self.message})
        _REMOTE_CLASSES[exc.kind] = remote_cls
    # Bypass the class's own __init__ (its signature is its own): carry the message as RemoteError does.
    err = remote_cls.__new__(remote_cls)
    err.args = (exc.message,)
    err.kind = exc.kind  # type: ignore[attr-defined]
    err.message = exc.message  # type: ignore[attr-defined]
    return err


@dataclass(frozen=True)
class MethodSpec:
    name: str
    kind: Kind
    signature: inspect.Signature  # without ``self``


def _declare(kind: Kind) -> Callable[[Callable[Concatenate[Any, P], Awaitable[R]]],
                                     Callable[Concatenate[Any, P], Awaitable[R]]]:
    def decorate(fn: Callable[Concatenate[Any, P], Awaitable[R]]) -> Callable[Concatenate[Any, P], Awaitable[R]]:
        full = inspect.signature(fn)
        params = list(full.parameters.values())[1:]
        spec = MethodSpec(fn.__name__, kind, full.replace(parameters=params))

        async def send(api: Any, /, *args: P.args, **kwargs: P.kwargs) -> R:
            return await api._send(spec, args, kwargs)  # type: ignore[no-any-return]

        functools.update_wrapper(send, fn)
        send.__rpc__ = spec  # type: ignore[attr-defined]
        return send

    return decorate


call = _declare("call")
"""Request and reply: the caller waits (up to the API's timeout) and gets the return value."""
cast = _declare("cast")
"""To one consumer of the topic; the caller does not wait. Returns None."""
fanout = _declare("fanout")
"""To every consumer of the topic. Returns None."""


class RpcAPI:
    """Base of every declaration; an instance is the caller's client on one bus."""

    topic: ClassVar[str] = ""
    version: ClassVar[str] = "1.0"
    route_by: ClassVar[str | None] = None

    def __init__(self, bus: Bus, timeout: float | None = None) -> None:
        self.bus = bus
        self.timeout = timeout

    @classmethod
    def methods(cls) -> dict[str, MethodSpec]:
        found: dict[str, MethodSpec] = {}
        for klass in reversed(cls.__mro__):
            for name, value in vars(klass).items():
                spec = getattr(value, "__rpc__", None)
                if isinstance(spec, MethodSpec):
                    found[name] = spec
        return found

    @classmethod
    def topic_for(cls, route: str | None) -> str:
        return cls.topic if route is None else f"{cls.topic}.{route}"

    def with_timeout(self, timeout: float) -> RpcAPI:
        """The same client with another call timeout."""
        clone = copy.copy(self)
        clone.timeout = timeout
        return clone

    async def _send(self, spec: MethodSpec, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        bound = spec.signature.bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        route = None
        if self.route_by is not None:
            route = str(values.pop(self.route_by))
        message = Message(spec.name, values, self.version)
        topic = self.topic_for(route)
        if spec.kind == "cast":
            await self.bus.cast(topic, message)
            return None
        if spec.kind == "fanout":
            await self.bus.fanout(topic, message)
            return None
        try:
            return await self.bus.call(topic, message, self.timeout)
        except RemoteError as exc:
            raise rebuild(exc) from None


def _compatible(sent: str, served: str) -> bool:
    s_major, _, s_minor = sent.partition(".")
    v_major, _, v_minor = served.partition(".")
    return s_major == v_major and int(s_minor or 0) <= int(v_minor or 0)


def _check_signature(api: type[RpcAPI], spec: MethodSpec, fn: Callable[..., Any]) -> None:
    params = inspect.signature(fn).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    sent = [name for name in spec.signature.parameters if name != api.route_by]
    missing = [name for name in sent if name not in params]
    if missing:
        raise TypeError(f"{api.__name__}.{spec.name}: the implementation {fn.__qualname__} "
                        f"does not take {', '.join(missing)}")


def endpoints(api: type[RpcAPI], *impls: object) -> dict[str, Callable[..., Awaitable[Any]]]:
    """Every declared method of ``api`` bound to the first of ``impls`` that implements it."""
    found: dict[str, Callable[..., Awaitable[Any]]] = {}
    for name, spec in api.methods().items():
        for impl in impls:
            fn = getattr(impl, name, None)
            if callable(fn):
                _check_signature(api, spec, fn)
                found[name] = fn
                break
        else:
            raise TypeError(f"nothing implements {api.__name__}.{name}")
    return found


def dispatcher(api: type[RpcAPI], *impls: object) -> Callable[[Message], Awaitable[Any]]:
    table = endpoints(api, *impls)

    async def dispatch(message: Message) -> Any:
        if not _compatible(message.version, api.version):
            raise IncompatibleVersion(f"{api.__name__} {api.version} cannot serve a {message.version} message")
        fn = table.get(message.method)
        if fn is None:
            raise NoSuchMethod("NoSuchMethod", f"{api.__name__} has no method {message.method!r}")
        return await fn(**message.args)

    return dispatch


async def serve(bus: Bus, api: type[RpcAPI], *impls: object, route: str | None = None) -> Subscription:
    """Consume ``api``'s topic (``<topic>.<route>`` for a routed API) with ``impls``."""
    return await bus.serve(api.topic_for(route), dispatcher(api, *impls))
