"""The hub: one plugin's topics in one process, fanned out through the ``PubSub`` port.

Every frame goes through pub/sub, even between two sockets of one process, so there is one path and one
order whatever the shape of the deployment. A process holds **one** pub/sub subscription per plugin, and
on it one channel per topic that at least one of its sockets follows (``ws:<plugin>:<topic>``); a message
is decoded once and handed to each local socket's queue without waiting for any of them.

A message on the channel is the cursor as JSON (``null`` when none), a newline, and the frame's JSON text.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import weakref
from collections.abc import Coroutine
from typing import TYPE_CHECKING, Any

from wealist_core.ports import PubSub, Subscription
from wealist_core.realtime._frames import (
    CLOSE_GOING_AWAY,
    CLOSE_UNAVAILABLE,
    Cursor,
    Payload,
    check_cursor,
    encode,
)

if TYPE_CHECKING:
    from wealist_core.container import Container
    from wealist_core.realtime._connection import Connection

__all__ = ["Hub", "close_hubs", "hub_of"]

log = logging.getLogger("wealist.realtime")

#: Seconds a stopping hub waits for its sockets to close and its background tasks to end.
_CLOSE_WAIT = 2.0


class _Topic:
    """The local sockets following one topic, and the subscription of its channel (done once ``ready``)."""

    __slots__ = ("members", "ready")

    def __init__(self, ready: asyncio.Task[None]) -> None:
        self.members: set[Connection] = set()
        self.ready = ready


class Hub:
    """The real-time fan-out of one plugin in one process: publish to a topic, reach every socket on it.

    Get it with :func:`hub_of` (``hub_of(container, "board")`` in ``wealist_configure``), which gives the
    plugin's sockets and its services the same instance. :meth:`publish` works anywhere, in a socket's
    handler or after a unit of work commits; a frame reaches the sockets following the topic in every
    process sharing the pub/sub server.
    """

    def __init__(self, pubsub: PubSub, plugin: str) -> None:
        self.plugin = plugin
        self._pubsub = pubsub
        self._prefix = f"ws:{plugin}:"
        self._topics: dict[str, _Topic] = {}
        self._connections: set[Connection] = set()
        self._subscription: Subscription | None = None
        self._reader: asyncio.Task[None] | None = None
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._emptied: asyncio.Event | None = None

    # ------------------------------------------------------------------------------------------ publishing

    async def publish(
        self, topic: str, type: str, payload: Payload = None, *, cursor: Cursor | None = None
    ) -> None:
        """Send the frame ``type`` with ``payload`` to every socket following ``topic``, in every process.

        ``cursor`` is the frame's place in the topic when the plugin stores it (a message's sequence
        number): a socket resuming the topic then never receives it twice. Persist first, publish second:
        call this after the commit (``uow.after_commit``), never inside the transaction.
        """
        head = b"null" if cursor is None else json.dumps(check_cursor(cursor)).encode()
        await self._pubsub.publish(self._prefix + topic, head + b"\n" + encode(type, payload).encode())

    # ------------------------------------------------------------------------------------------ inspection

    @property
    def topics(self) -> frozenset[str]:
        """The topics at least one socket of this process follows."""
        return frozenset(self._topics)

    @property
    def connections(self) -> int:
        """Open sockets of this plugin in this process."""
        return len(self._connections)

    def followers(self, topic: str) -> int:
        """How many sockets of this process follow ``topic``."""
        state = self._topics.get(topic)
        return 0 if state is None else len(state.members)

    # ---------------------------------------------------------------------------- membership (connections)

    def _attach(self, connection: Connection) -> None:
        self._connections.add(connection)

    def _leave_all(self, connection: Connection) -> None:
        """The socket is closing: it leaves every topic at once, so that no frame waits for it."""
        for topic in connection._forget_topics():
            self._leave(connection, topic)

    def _detach(self, connection: Connection) -> None:
        """The socket's handler has ended."""
        self._leave_all(connection)
        self._connections.discard(connection)
        if not self._connections and self._emptied is not None:
            self._emptied.set()

    async def _join(self, connection: Connection, topic: str) -> None:
        """Add the socket to ``topic``; returns once the channel's subscription is confirmed, so that
        every frame published from now on reaches the socket."""
        state = self._topics.get(topic)
        if state is None:
            # The subscription runs in a task of the hub, in a context of its own (no user's log fields),
            # and is shielded: a socket that goes away while it runs does not fail the others waiting.
            task = asyncio.get_running_loop().create_task(
                self._subscribe(topic), name=f"wealist-subscribe-{topic}", context=contextvars.Context()
            )
            state = self._topics[topic] = _Topic(task)
            task.add_done_callback(lambda done: self._subscribed(topic, state, done))
        state.members.add(connection)
        try:
            await asyncio.shield(state.ready)
        except BaseException:
            self._leave(connection, topic)
            raise

    def _subscribed(self, topic: str, state: _Topic, task: asyncio.Task[None]) -> None:
        failed = task.cancelled() or task.exception() is not None  # reading it marks the error as seen
        if self._topics.get(topic) is state and (failed or not state.members):
            del self._topics[topic]
            if not failed:  # everyone left while it was being subscribed
                self._spawn(self._unsubscribe(topic))

    def _leave(self, connection: Connection, topic: str) -> None:
        state = self._topics.get(topic)
        if state is None:
            return
        state.members.discard(connection)
        if not state.members and state.ready.done():
            del self._topics[topic]
            self._spawn(self._unsubscribe(topic))

    def _spawn(self, coroutine: Coroutine[Any, Any, None]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine, context=contextvars.Context())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _guard(self) -> asyncio.Lock:
        # Subscribe and unsubscribe commands go out one at a time and in the order they were asked for,
        # so that "leave the last socket, then join again" always ends subscribed.
        if self._lock is None:
            self._lock = asyncio.Lock()
        return self._lock

    async def _subscribe(self, topic: str) -> None:
        async with self._guard():
            channel = self._prefix + topic
            if self._subscription is None:
                subscription = await self._pubsub.subscribe(channel)
                self._subscription = subscription
                self._reader = asyncio.get_running_loop().create_task(
                    self._read(subscription), name=f"wealist-hub-{self.plugin}", context=contextvars.Context()
                )
            else:
                await self._subscription.subscribe(channel)

    async def _unsubscribe(self, topic: str) -> None:
        async with self._guard():
            # Someone may have joined again while this waited: then the channel stays.
            if topic in self._topics or self._subscription is None:
                return
            try:
                await self._subscription.unsubscribe(self._prefix + topic)
            except Exception:  # the reader sees a lost connection and closes the sockets; nothing to add
                log.debug("unsubscribing %s failed", topic, exc_info=True)

    # ------------------------------------------------------------------------------------------- fan-out

    async def _read(self, subscription: Subscription) -> None:
        cut = len(self._prefix)
        topics = self._topics
        try:
            async for channel, data in subscription:
                state = topics.get(channel[cut:])
                if state is None:
                    continue
                head, _, body = data.partition(b"\n")
                try:
                    cursor: Cursor | None = None if head == b"null" else json.loads(head)
                    text = body.decode()
                except ValueError:  # not published by a hub: skipped, the sockets stay
                    log.warning("skipped a message on %s that is not a frame", channel)
                    continue
                topic = channel[cut:]
                # A copy: a socket that turns out too slow leaves the topic during the loop.
                for connection in tuple(state.members):
                    connection._deliver(topic, text, cursor)
                # Let the sockets' senders run before the next message: a burst of messages already
                # buffered would otherwise fill every queue at once, and close clients that keep up.
                await asyncio.sleep(0)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the pub/sub subscription of %s's sockets failed; closing them", self.plugin)
        if self._subscription is subscription:  # not closed by us: every socket has missed frames now
            self._lost(subscription)

    def _lost(self, subscription: Subscription) -> None:
        self._subscription = None
        self._reader = None
        self._topics.clear()
        self._spawn(subscription.close())
        for connection in tuple(self._connections):
            connection._begin_close(CLOSE_UNAVAILABLE, "real-time service interrupted; reconnect and resume")

    # ------------------------------------------------------------------------------------------- closing

    async def close(self, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down") -> None:
        """Close every socket of this hub with ``code`` (each gets its queued frames first, briefly), wait
        a little for them to end, then drop the pub/sub subscription. The hub can be used again."""
        timeout = _CLOSE_WAIT
        if self._connections:
            self._emptied = asyncio.Event()
            for connection in tuple(self._connections):
                connection._begin_close(code, reason, drain=True)
            try:
                async with asyncio.timeout(timeout):
                    await self._emptied.wait()
            except TimeoutError:
                log.warning(
                    "%d %s sockets were still open after %.1f s", len(self._connections), self.plugin, timeout
                )
            self._emptied = None
        subscription, reader = self._subscription, self._reader
        self._subscription = self._reader = None
        self._topics.clear()
        if reader is not None:
            reader.cancel()
            await asyncio.wait([reader])
        if subscription is not None:
            await subscription.close()
        if self._tasks:
            await asyncio.wait(tuple(self._tasks), timeout=timeout)


_HUBS: weakref.WeakKeyDictionary[Container, dict[str, Hub]] = weakref.WeakKeyDictionary()


def hub_of(container: Container, plugin: str) -> Hub:
    """The hub of ``plugin`` in this application, on its ``pubsub`` port (which its manifest must list).
    The same instance every time: the plugin's sockets and its services publish through one hub."""
    hubs = _HUBS.setdefault(container, {})
    hub = hubs.get(plugin)
    if hub is None:
        hub = hubs[plugin] = Hub(container.pubsub(plugin), plugin)
    return hub


async def close_hubs(
    container: Container, code: int = CLOSE_GOING_AWAY, reason: str = "server shutting down"
) -> None:
    """Close every socket of every hub of the application, then their subscriptions (the host's shutdown)."""
    hubs = list(_HUBS.get(container, {}).values())
    await asyncio.gather(*(hub.close(code, reason) for hub in hubs))
