"""``memory://`` event bus: durable domain events within one process, with the Redis bus's semantics.

It mirrors the Redis Streams layout so a test on the embedded default says something about production:
one bounded log (*stream*) per producing plugin, one consumer group per subscribing plugin with its own
read position on each stream, and one consumer task per group that handles events in publish order.

- A group first started reads every retained event, so events published before it existed reach it.
- A handler that raises is called again after ``retry_delay``, doubling per attempt; after ``max_attempts``
  the event becomes a dead letter (logged, listed by :meth:`MemoryEventBus.dead_letters`) and the group
  moves on. The retries happen in place, so the group's order holds.
- A group remembers the last ``dedupe_size`` event ids it handled and skips an id it has seen, so an event
  published twice (an outbox relay that crashed between publishing and deleting) is handled once.
- Events travel as JSON, as they do through Redis: a payload that is not JSON fails at ``publish``, and
  every handler gets its own copy.

Only this process's subscribers see the events, and they are lost with the process: the host gives every
plugin of a process the same instance, and split deployments use Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections import OrderedDict, deque
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wealist_core import AdapterContext, AdapterError, Event, EventBus, EventHandler
from wealist_core.eventbus import (
    DeadLetter,
    EventBusOptions,
    EventSubscription,
    EventSubscriptions,
    decode_event,
    describe_error,
    encode_event,
)

__all__ = ["MemoryEventBus"]

logger = logging.getLogger("wealist.eventbus")


@dataclass(slots=True)
class _Stream:
    """One producing plugin's events: ``(global sequence, encoded event)``, the oldest trimmed first."""

    entries: deque[tuple[int, str]]
    end: int = 0  # offset of the next entry; the first retained one is at end - len(entries)

    @property
    def start(self) -> int:
        return self.end - len(self.entries)


@dataclass(slots=True)
class _Group:
    name: str
    cursors: dict[str, int]  # source plugin -> offset of the next entry to deliver
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    handled: OrderedDict[str, None] = field(default_factory=OrderedDict)  # event ids (and id:subscription)
    in_flight: int = 0


class MemoryEventBus(EventBus):
    """The in-process :class:`EventBus`: the embedded default (``memory://?retry_delay=0.05&max_attempts=5``)."""

    def __init__(self, options: EventBusOptions | None = None) -> None:
        self.options = options or EventBusOptions()
        self._subscriptions = EventSubscriptions()
        self._streams: dict[str, _Stream] = {}
        self._groups: dict[str, _Group] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._dead: deque[DeadLetter] = deque(maxlen=self.options.retention)
        self._sequence = 0
        self._closed = False

    @classmethod
    def from_context(cls, context: AdapterContext) -> MemoryEventBus:
        options, rest = EventBusOptions.from_url(context.url, setting=context.setting)
        unknown = urlsplit(rest).query
        if unknown:
            raise AdapterError(
                f"{context.setting} has options the memory event bus does not know ({unknown}); the "
                "known ones are retry_delay, max_attempts, retention and dedupe_size."
            )
        return cls(options)

    # ------------------------------------------------------------------------------------------- lifecycle

    async def close(self) -> None:
        self._closed = True
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # ----------------------------------------------------------------------------------------------- port

    async def publish(self, event: Event) -> None:
        if self._closed:
            raise RuntimeError("publish() on a closed event bus")
        data = encode_event(event)
        stream = self._stream(event.source)
        self._sequence += 1
        stream.entries.append((self._sequence, data))
        stream.end += 1
        for group in self._groups.values():
            if event.source in group.cursors:
                group.wakeup.set()

    def subscribe(self, group: str, event_type: str, handler: EventHandler) -> None:
        self._subscriptions.add(group, event_type, handler)

    async def start_consuming(self) -> None:
        if self._subscriptions.frozen:
            return
        if self._closed:
            raise RuntimeError("start_consuming() on a closed event bus")
        self._subscriptions.freeze()
        for name in self._subscriptions.groups():
            # A new group starts at the oldest retained event: it replays what was published before.
            cursors = {source: self._stream(source).start for source in self._subscriptions.sources(name)}
            group = self._groups[name] = _Group(name, cursors)
            self._tasks.append(asyncio.create_task(self._consume(group), name=f"eventbus-{name}"))

    # ---------------------------------------------------------------------------------------- operations

    async def lag(self, group: str) -> int:
        """Events of ``group``'s streams it has not finished with: being handled plus not yet delivered."""
        state = self._groups.get(group)
        if state is None:
            return 0
        waiting = sum(
            self._stream(source).end - max(cursor, self._stream(source).start)
            for source, cursor in state.cursors.items()
        )
        return state.in_flight + waiting

    async def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The events ``group`` gave up on, oldest first (the last ``retention`` of the process)."""
        return [letter for letter in self._dead if letter.group == group][:limit]

    # ----------------------------------------------------------------------------------------- consuming

    def _stream(self, source: str) -> _Stream:
        stream = self._streams.get(source)
        if stream is None:
            stream = self._streams[source] = _Stream(deque(maxlen=self.options.retention))
        return stream

    def _next(self, group: _Group) -> tuple[str, str] | None:
        """The oldest undelivered entry of ``group``'s streams as ``(source, data)``, advancing its cursor."""
        best: tuple[int, str, str] | None = None
        for source, cursor in group.cursors.items():
            stream = self._stream(source)
            if cursor < stream.start:
                logger.warning(
                    "event bus group %s lost %d %s events to retention before reading them",
                    group.name,
                    stream.start - cursor,
                    source,
                )
                cursor = group.cursors[source] = stream.start
            if cursor < stream.end:
                sequence, data = stream.entries[cursor - stream.start]
                if best is None or sequence < best[0]:
                    best = (sequence, source, data)
        if best is None:
            return None
        group.cursors[best[1]] += 1
        return best[1], best[2]

    async def _consume(self, group: _Group) -> None:
        while True:
            item = self._next(group)
            if item is None:
                # No await between the check and clear(): a publish cannot slip in between.
                group.wakeup.clear()
                await group.wakeup.wait()
                continue
            group.in_flight = 1
            try:
                await self._deliver(group, item[1])
            finally:
                group.in_flight = 0

    async def _deliver(self, group: _Group, data: str) -> None:
        event = decode_event(data)
        subscriptions = self._subscriptions.matching(group.name, event.type)
        if not subscriptions or event.id in group.handled:
            return
        attempt = 1
        while True:
            try:
                # Each attempt gets a fresh copy, as a redelivery from Redis would: a handler that changed
                # the payload before failing does not see its own changes.
                await self._run_handlers(group, decode_event(data), subscriptions)
            except Exception as exc:
                if attempt >= self.options.max_attempts:
                    self._bury(group, event, attempt, exc)
                    return
                logger.warning(
                    "event bus group %s: handling %s %s failed (attempt %d of %d), retrying: %s",
                    group.name,
                    event.type,
                    event.id,
                    attempt,
                    self.options.max_attempts,
                    describe_error(exc),
                    exc_info=exc,
                )
                await asyncio.sleep(self.options.backoff(attempt))
                attempt += 1
                continue
            for subscription in subscriptions:
                group.handled.pop(f"{event.id}:{subscription.name}", None)
            self._remember(group, event.id)
            return

    async def _run_handlers(
        self, group: _Group, event: Event, subscriptions: list[EventSubscription]
    ) -> None:
        if len(subscriptions) == 1:
            await subscriptions[0].handler(event)
            return
        # Several handlers of the group take this event: remember each success, so a retry after a later
        # one failed does not run the earlier ones again.
        for subscription in subscriptions:
            key = f"{event.id}:{subscription.name}"
            if key in group.handled:
                continue
            await subscription.handler(event)
            self._remember(group, key)

    def _remember(self, group: _Group, key: str) -> None:
        group.handled[key] = None
        group.handled.move_to_end(key)
        while len(group.handled) > self.options.dedupe_size:
            group.handled.popitem(last=False)

    def _bury(self, group: _Group, event: Event, attempts: int, exc: Exception) -> None:
        error = describe_error(exc)
        logger.error(
            "event bus group %s gave up on %s %s after %d attempts; it is a dead letter now: %s",
            group.name,
            event.type,
            event.id,
            attempts,
            error,
            exc_info=exc,
        )
        self._dead.append(DeadLetter(group.name, event, attempts, error, dt.datetime.now(dt.UTC)))
