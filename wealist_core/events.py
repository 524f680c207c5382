"""Typed domain events: pydantic models declared once, in the producer's ``contract.py``.

A producer declares each event it publishes as a :class:`DomainEvent` subclass with its type name::

    class MemberRemoved(DomainEvent):
        event_type = "user.member_removed"
        event_key = "workspace_id"          # the field whose value orders the event (optional)

        workspace_id: uuid.UUID
        user_id: uuid.UUID

emits it in a unit of work (``uow.emit(MemberRemoved(workspace_id=..., user_id=...))``), and a consumer, which
imports only the producer's contract module, subscribes by class::

    @subscribe(MemberRemoved)
    async def on_member_removed(self, event: MemberRemoved) -> None: ...

On the wire (the outbox, the bus) the payload is the model's camelCase JSON, so consumers in other
processes, or in other languages, read the same thing. The manifest's ``publishes`` is derived from the
events declared with the plugin's prefix, and its ``consumes`` from the subscriptions.

Delivery is at least once, and each consumer group (one per plugin) sees an event id at most once after
its handler succeeded: the bus de-duplicates redeliveries by event id, so a handler need not guard against
the same event twice unless its own side effects outside the database must be idempotent across crashes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any, ClassVar, TypeVar

from pydantic import ConfigDict, ValidationError

from wealist_core.http.models import ApiModel
from wealist_core.ports import Event, EventHandler

__all__ = [
    "DomainEvent",
    "declared_events",
    "event_class",
    "subscribe",
    "subscriptions_of",
    "to_event",
    "typed_handler",
]

E = TypeVar("E", bound="DomainEvent")
F = TypeVar("F", bound=Callable[..., Awaitable[None]])

_REGISTRY: dict[str, type[DomainEvent]] = {}
_SUBSCRIBES = "__wealist_subscribes__"


class DomainEvent(ApiModel):
    """Base of every typed domain event. Subclasses set ``event_type`` (``<plugin>.<what_happened>``) and
    optionally ``event_key``, the name of the field whose value is the event's ordering key."""

    # A consumer of an older version must still read a payload that gained a field.
    model_config = ConfigDict(**{**ApiModel.model_config, "extra": "ignore"})

    event_type: ClassVar[str] = ""
    event_key: ClassVar[str | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        name = cls.__dict__.get("event_type", "")
        if not name:
            return  # an intermediate base class
        plugin, dot, what = name.partition(".")
        if not dot or not plugin or not what:
            raise TypeError(f"{cls.__qualname__}.event_type must be '<plugin>.<what_happened>', not {name!r}")
        known = _REGISTRY.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise TypeError(
                f"event type {name!r} is declared twice: {known.__qualname__} and {cls.__qualname__}"
            )
        _REGISTRY[name] = cls

    def to_payload(self) -> dict[str, Any]:
        """The JSON payload written to the outbox: camelCase, ids as strings."""
        return self.model_dump(mode="json", by_alias=True)

    def ordering_key(self) -> str | None:
        if self.event_key is None:
            return None
        value = getattr(self, self.event_key)
        return None if value is None else str(value)


def to_event(event: DomainEvent) -> Event:
    """The bus envelope of a typed event."""
    return Event(type=event.event_type, payload=event.to_payload(), key=event.ordering_key())


def event_class(event_type: str) -> type[DomainEvent] | None:
    """The model declared for ``event_type``, if its producer's contract module is imported."""
    return _REGISTRY.get(event_type)


def declared_events(plugin: str) -> list[type[DomainEvent]]:
    """The events declared for ``plugin`` (``<plugin>.*``), in declaration order."""
    return [cls for name, cls in _REGISTRY.items() if name.startswith(f"{plugin}.")]


def subscribe(*events: type[DomainEvent]) -> Callable[[F], F]:
    """Mark a plugin method as the handler of ``events``; the host binds it to the plugin's consumer group.

    The handler receives the typed model. An event whose payload no longer fits the model (a producer of a
    newer version that removed a field) is logged and dead-lettered by the bus, never half-handled.
    """
    for cls in events:
        if not (isinstance(cls, type) and issubclass(cls, DomainEvent) and cls.event_type):
            raise TypeError(f"@subscribe takes DomainEvent classes with an event_type, not {cls!r}")

    def mark(function: F) -> F:
        setattr(function, _SUBSCRIBES, (*getattr(function, _SUBSCRIBES, ()), *events))
        return function

    return mark


def typed_handler(cls: type[E], handler: Callable[[E], Awaitable[None]]) -> EventHandler:
    """An :data:`EventHandler` that validates the payload into ``cls`` and calls ``handler`` with it."""

    async def handle(event: Event) -> None:
        try:
            model = cls.model_validate(event.payload)
        except ValidationError as exc:
            raise ValueError(
                f"event {event.id} of type {event.type} does not fit {cls.__name__}: {exc}"
            ) from exc
        await handler(model)

    handle.__qualname__ = getattr(handler, "__qualname__", "handler")
    return handle


def subscriptions_of(plugin: object) -> list[tuple[str, EventHandler]]:
    """The ``@subscribe`` methods of a plugin object, as ``(event type, handler)`` pairs."""
    pairs: list[tuple[str, EventHandler]] = []
    seen: set[str] = set()
    for klass in type(plugin).__mro__:
        for name, member in vars(klass).items():
            if name in seen or not hasattr(member, _SUBSCRIBES):
                continue
            seen.add(name)
            bound = getattr(plugin, name)
            for cls in getattr(member, _SUBSCRIBES):
                pairs.append((cls.event_type, typed_handler(cls, bound)))
    return pairs


def normalise_subscriptions(items: Iterable[Any]) -> list[tuple[str, EventHandler]]:
    """``wealist_register_subscriptions`` results as ``(event type, handler)``: a pair may name the event
    by its type string (the handler gets the :class:`Event`) or by its class (the handler gets the model)."""
    out: list[tuple[str, EventHandler]] = []
    for item in items:
        kind, handler = item
        if isinstance(kind, type) and issubclass(kind, DomainEvent):
            out.append((kind.event_type, typed_handler(kind, handler)))
        elif isinstance(kind, str):
            out.append((kind, handler))
        else:
            raise TypeError(f"a subscription names an event type or a DomainEvent class, not {kind!r}")
        if not inspect.iscoroutinefunction(handler) and not callable(handler):
            raise TypeError(f"the handler of {kind!r} is not callable")
    return out


def describe(cls: type[DomainEvent]) -> Mapping[str, str]:
    """Field wire names and their JSON types, for documentation and ``wealist plugins``."""
    schema = cls.model_json_schema(by_alias=True)
    props: dict[str, Any] = schema.get("properties", {})
    return {name: str(prop.get("type") or prop.get("format") or "object") for name, prop in props.items()}
