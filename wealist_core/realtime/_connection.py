"""One open socket: its principal, the topics it follows, and its bounded send queue.

Every frame to a socket (a live frame fanned out by the hub, a handler's answer, an ERROR, a PONG) goes
through one queue, sent by one task, so frames leave in order and no two sends overlap. Queuing never
waits: a socket whose queue is full when a frame arrives is closed with 4408 at once and leaves its topics,
so a client that cannot keep up never delays the others.

Resuming a topic (``subscribe(topic, replay=...)``) is ordered so that nothing is lost or doubled:

1. subscribe first: once the hub confirms, every frame published from then on reaches this socket, and
   is held back (buffered) while the topic resumes;
2. replay: the plugin's callback reads what the client missed from its store, which holds at least
   everything published before step 1 (persist first, publish second);
3. send the replayed frames, then the buffered ones, dropping any whose cursor was already sent: a frame
   published between steps 1 and 2 is both in the store and in the buffer.

The cursors sent on a topic are remembered (the last ``Channel.dedup_window`` of them), so a live copy
arriving after the buffer was drained is still dropped, and a second RESUME does not repeat frames.
"""

from __future__ import annotations

import asyncio
import collections
import contextvars
import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from starlette.types import Send
from starlette.websockets import WebSocket

from wealist_core.errors import BadRequest, NotFound
from wealist_core.realtime._frames import (
    CLOSE_NORMAL,
    CLOSE_TOO_SLOW,
    TOO_MANY_TOPICS,
    TOPIC_NOT_FOUND,
    Cursor,
    Frame,
    Payload,
    encode,
)
from wealist_core.security import Principal

if TYPE_CHECKING:
    from wealist_core.observability import SocketCounters
    from wealist_core.realtime._channel import Channel
    from wealist_core.realtime._hub import Hub

__all__ = ["Connection", "Replay"]

log = logging.getLogger("wealist.realtime")

#: What ``subscribe(topic, replay=...)`` calls: the frames the client missed on the topic, oldest first.
Replay = Callable[[], Awaitable[Iterable[Frame]]]

#: How long a closing socket gets to send what is queued (going away), and to write its close frame.
_DRAIN_SECONDS = 1.0
_CLOSE_SECONDS = 10.0


class _View:
    """This socket's side of one topic: frames held back while it resumes, cursors already sent."""

    __slots__ = ("pending", "seen")

    def __init__(self) -> None:
        self.pending: list[tuple[str, Cursor | None]] | None = None
        self.seen: dict[Cursor, None] | None = None  # insertion-ordered: the oldest is dropped first


class Connection:
    """One open socket of a :class:`~wealist_core.realtime.Channel`, as its frame handlers see it.

    ``principal`` and ``user_id`` say who is on it; ``state`` is the plugin's own per-socket memo. Sending
    (:meth:`send`, :meth:`error`) queues and never waits for the client.
    """

    def __init__(
        self,
        websocket: WebSocket,
        principal: Principal,
        channel: Channel,
        hub: Hub,
        counters: SocketCounters,
        send: Send | None = None,
    ) -> None:
        self.websocket = websocket
        self.principal = principal
        self.channel = channel
        self.hub = hub
        #: Anything the plugin keeps for this socket (the chats it asked for, a workspace id, ...).
        self.state: dict[str, Any] = {}
        self._counters = counters
        self._views: dict[str, _View] = {}
        self._queue: collections.deque[str] = collections.deque()
        self._limit = channel.send_queue
        self._allowance = 0  # replayed frames still queued: they do not count against the limit
        # The ASGI send under Starlette's WebSocket: the sender passes each frame straight to it (the toolkit
        # keeps the socket's state itself), which on a broadcast to many sockets is a layer less per frame.
        self._send = send or websocket.send
        self._waiter: asyncio.Future[None] | None = None  # the sender, waiting for a frame
        self._closing: int | None = None
        self._sender: asyncio.Task[None] | None = None
        self._closer: asyncio.Task[None] | None = None
        # The handler's context (request id, plugin, user): the closing task logs with it.
        self._context = contextvars.copy_context()

    @property
    def user_id(self) -> str:
        return self.principal.id

    @property
    def plugin(self) -> str:
        return self.hub.plugin

    @property
    def topics(self) -> frozenset[str]:
        """The topics this socket follows."""
        return frozenset(self._views)

    @property
    def closing(self) -> bool:
        """True once the socket is closing: frames sent to it from now on are dropped."""
        return self._closing is not None

    def __repr__(self) -> str:
        return f"<Connection {self.plugin} user={self.user_id} topics={len(self._views)}>"

    # -------------------------------------------------------------------------------------------- sending

    async def send(self, type: str, payload: Payload = None) -> None:
        """Queue the frame ``type`` with ``payload`` for this socket only."""
        self._enqueue(encode(type, payload))

    async def error(self, code: str, message: str) -> None:
        """Queue ``{"type": "ERROR", "code": code, "message": message}``; the socket stays open."""
        self._enqueue(encode("ERROR", {"code": code, "message": message}))

    async def publish(
        self, topic: str, type: str, payload: Payload = None, *, cursor: Cursor | None = None
    ) -> None:
        """Publish to every socket following ``topic`` in every process (see :meth:`Hub.publish`)."""
        await self.hub.publish(topic, type, payload, cursor=cursor)

    # ------------------------------------------------------------------------------------------- topics

    async def subscribe(self, topic: str, *, replay: Replay | None = None, authorize: bool = True) -> None:
        """Follow ``topic``: every frame published to it from now on reaches this socket.

        The channel's ``authorize(principal, topic)`` is asked first (``authorize=False`` skips it for a
        topic the plugin has just checked itself, such as the chats it read from its own store): a refusal
        raises ``NotFound`` (code ``TOPIC_NOT_FOUND``), which the client receives as an ERROR frame.

        With ``replay``, what the client missed is sent first: ``replay()`` returns those frames from the
        plugin's store, each with its cursor, and they arrive before any live frame of the topic, without a
        gap or a duplicate (see the module's docstring). On a topic already followed, ``replay`` resumes it.
        """
        if self._closing is not None:
            return
        view = self._views.get(topic)
        if view is None:
            if len(self._views) >= self.channel.max_topics:
                raise BadRequest(
                    f"A socket follows at most {self.channel.max_topics} topics.", code=TOO_MANY_TOPICS
                )
            if authorize and not await self.channel.authorize(self.principal, topic):
                raise NotFound(f"No topic {topic!r} that you may follow.", code=TOPIC_NOT_FOUND)
            if self._closing is not None:
                return
            view = self._views.get(topic)
        if view is None:
            view = self._views[topic] = _View()
            view.pending = [] if replay is not None else None
            try:
                await self.hub._join(self, topic)
            except BaseException:
                if self._views.get(topic) is view:
                    del self._views[topic]
                raise
        elif replay is not None and view.pending is None:
            view.pending = []
        elif replay is not None:
            raise BadRequest(f"The topic {topic!r} is being resumed already.", code="TOPIC_RESUMING")
        if replay is None:
            return
        try:
            for frame in await replay():
                self._emit(view, frame.encode(), frame.cursor, replayed=True)
        finally:
            pending, view.pending = view.pending or [], None
            for text, cursor in pending:
                self._emit(view, text, cursor)

    async def unsubscribe(self, topic: str) -> None:
        """Stop following ``topic`` (nothing happens if this socket does not follow it)."""
        if self._views.pop(topic, None) is not None:
            self.hub._leave(self, topic)

    # ------------------------------------------------------------------------------------------- closing

    async def close(self, code: int = CLOSE_NORMAL, reason: str = "") -> None:
        """Close the socket with ``code`` once its queued frames are sent (or after a second)."""
        self._begin_close(code, reason, drain=True)
        if self._closer is not None and self._closer is not asyncio.current_task():
            await asyncio.wait([self._closer])

    # --------------------------------------------------------------------------- internals (hub, channel)

    def _deliver(self, topic: str, text: str, cursor: Cursor | None) -> None:
        """A live frame of ``topic`` from the hub. Never waits."""
        view = self._views.get(topic)
        if view is None:
            return
        if view.pending is not None:
            if len(view.pending) >= self._limit:
                self._too_slow(len(view.pending))
            else:
                view.pending.append((text, cursor))
            return
        if cursor is None:
            self._enqueue(text)
        else:
            self._emit(view, text, cursor)

    def _emit(self, view: _View, text: str, cursor: Cursor | None, *, replayed: bool = False) -> None:
        if cursor is not None:
            seen = view.seen
            if seen is None:
                seen = view.seen = {}
            elif cursor in seen:
                return  # sent already: the replayed copy, or the live one
            seen[cursor] = None
            if len(seen) > self.channel.dedup_window:
                del seen[next(iter(seen))]
        if replayed:
            self._allowance += 1
        self._enqueue(text)

    def _enqueue(self, text: str) -> None:
        if self._closing is not None:
            self._counters.dropped += 1
            return
        queue = self._queue
        if len(queue) >= self._limit + self._allowance:
            self._too_slow(len(queue))
            return
        queue.append(text)
        self._wake()

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _too_slow(self, behind: int) -> None:
        counters = self._counters
        counters.dropped += len(self._queue) + 1
        counters.slow_closes += 1
        self._queue.clear()
        self._allowance = 0
        self._begin_close(
            CLOSE_TOO_SLOW, "too slow: the client did not keep up with its frames", behind=behind
        )

    def _forget_topics(self) -> list[str]:
        topics = list(self._views)
        self._views.clear()
        return topics

    def _start(self) -> None:
        self._sender = asyncio.get_running_loop().create_task(self._send_loop(), name="wealist-socket-sender")

    async def _send_loop(self) -> None:
        queue, counters, send = self._queue, self._counters, self._send
        loop = asyncio.get_running_loop()
        try:
            while True:
                if queue:
                    text = queue.popleft()
                    if self._allowance:
                        self._allowance -= 1
                    await send({"type": "websocket.send", "text": text})
                    counters.sent += 1
                elif self._closing is not None:
                    return
                else:
                    self._waiter = loop.create_future()
                    await self._waiter
                    self._waiter = None
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away during a send; the receive loop sees the disconnect
            log.debug("sending on a socket failed", exc_info=True)
            if self._closing is None:
                self._closing = CLOSE_NORMAL
            counters.dropped += len(queue)
            queue.clear()

    def _begin_close(self, code: int, reason: str, *, drain: bool = False, behind: int = 0) -> None:
        """Start closing (callable from the hub's fan-out, which must not wait): leave every topic now,
        then, in a task, send what is queued if ``drain`` and write the close frame."""
        if self._closing is not None:
            return
        self._closing = code
        self.hub._leave_all(self)
        if drain:
            self._wake()  # the sender finishes the queue, then returns
        elif self._sender is not None:
            self._sender.cancel()
        self._closer = asyncio.get_running_loop().create_task(
            self._close(code, reason, drain, behind),
            name="wealist-socket-close",
            context=self._context.copy(),
        )

    async def _close(self, code: int, reason: str, drain: bool, behind: int) -> None:
        if code == CLOSE_TOO_SLOW:
            log.warning("closed a socket %d frames behind: the client does not keep up", behind)
        sender = self._sender
        if sender is not None and not sender.done():
            if drain:
                await asyncio.wait([sender], timeout=_DRAIN_SECONDS)
            sender.cancel()
        try:
            # uvicorn waits until the client reads enough for the close frame to be written.
            async with asyncio.timeout(_CLOSE_SECONDS):
                await self.websocket.close(code, reason)
        except Exception:  # the client is gone already, or never read again
            log.debug("closing a socket failed", exc_info=True)

    async def _finish(self) -> None:
        """The receive loop ended: stop sending, leave the hub, let a close under way write its frame."""
        if self._closing is None:
            self._closing = CLOSE_NORMAL
        self.hub._detach(self)
        if self._sender is not None:
            self._sender.cancel()
        tasks = [t for t in (self._sender, self._closer) if t is not None]
        if tasks:
            await asyncio.wait(tasks, timeout=_CLOSE_SECONDS)
