"""An event recorder: a plugin that subscribes to event types through the event bus, like any consumer,
and keeps what arrives, so a test can wait for the event a request should have published.

Events arrive after the producer's commit and the outbox relay, a few milliseconds after the response:
:meth:`EventRecorder.wait_for` waits for them instead of asserting at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar, overload

from wealist_core.events import DomainEvent
from wealist_core.hookspecs import hookimpl
from wealist_core.manifest import PluginManifest
from wealist_core.ports import Event, EventHandler

__all__ = ["EventRecorder"]

E = TypeVar("E", bound=DomainEvent)
T = TypeVar("T")


class EventRecorder:
    """Records the events of ``patterns`` (``"user.member_added"``, ``"user.*"`` or a
    :class:`~wealist_core.DomainEvent` class) in the order they arrive, in its own consumer group."""

    def __init__(self, *patterns: str | type[DomainEvent], name: str = "test_events") -> None:
        self.name = name
        self.patterns = tuple(p if isinstance(p, str) else p.event_type for p in patterns)
        self.events: list[Event] = []
        self._arrived = asyncio.Event()  # replaced after each arrival: a waiter holds the one it waits on

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name=self.name,
            description="Records events for a test.",
            ports=("eventbus",),
            consumes=self.patterns,
        )

    @hookimpl
    def wealist_register_subscriptions(self) -> list[tuple[str, EventHandler]]:
        return [(pattern, self._record) for pattern in self.patterns]

    async def _record(self, event: Event) -> None:
        self.events.append(event)
        arrived, self._arrived = self._arrived, asyncio.Event()
        arrived.set()

    # --------------------------------------------------------------------------------------- reading

    @overload
    def received(self, kind: type[E], **match: Any) -> list[E]: ...
    @overload
    def received(self, kind: str, **match: Any) -> list[Event]: ...

    def received(self, kind: str | type[E], **match: Any) -> list[E] | list[Event]:
        """The events of ``kind`` received so far that ``match``.

        With a type name, ``match`` compares payload fields by their wire (camelCase) names and JSON values
        (``workspaceId=str(space_id)``) and :class:`~wealist_core.Event` envelopes are returned; with a
        ``DomainEvent`` class, the payloads are read into the model, ``match`` compares its attributes
        (``workspace_id=space_id``) and models are returned."""
        if isinstance(kind, str):
            return [e for e in self.events if e.type == kind and _fits(e.payload, match)]
        models = (kind.model_validate(e.payload) for e in self.events if e.type == kind.event_type)
        return [m for m in models if _fits(vars(m), match)]

    @overload
    async def wait_for(self, kind: type[E], *, within: float = 5.0, **match: Any) -> E: ...
    @overload
    async def wait_for(self, kind: str, *, within: float = 5.0, **match: Any) -> Event: ...

    async def wait_for(self, kind: str | type[E], *, within: float = 5.0, **match: Any) -> E | Event:
        """The first event of ``kind`` that ``match`` (as in :meth:`received`), waiting up to ``within``
        seconds for it to arrive; an ``AssertionError`` saying what did arrive when none does."""
        try:
            async with asyncio.timeout(within):
                while True:
                    arrived = self._arrived
                    found = self.received(kind, **match)
                    if found:
                        return found[0]
                    await arrived.wait()
        except TimeoutError:
            name = kind if isinstance(kind, str) else kind.event_type
            wanted = ", ".join(f"{k}={v!r}" for k, v in match.items())
            seen = [e.type for e in self.events]
            raise AssertionError(
                f"No {name} event{' with ' + wanted if wanted else ''} arrived within {within:g} s; "
                f"received: {seen or 'nothing'}"
                + ("" if self._subscribed(name) else f" (the recorder does not subscribe to {name})")
            ) from None

    def clear(self) -> None:
        """Forget what was received (for a test that looks at what happens after a point)."""
        self.events.clear()

    def _subscribed(self, event_type: str) -> bool:
        return any(
            p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1])) for p in self.patterns
        )

    @classmethod
    def of_plugins(cls, names: Iterable[str], *, name: str = "test_events") -> EventRecorder:
        """A recorder of every event the plugins ``names`` publish (``<plugin>.*`` each)."""
        return cls(*(f"{plugin}.*" for plugin in names), name=name)


_MISSING = object()


def _fits(values: Mapping[str, Any], match: dict[str, Any]) -> bool:
    return all(values.get(name, _MISSING) == value for name, value in match.items())
