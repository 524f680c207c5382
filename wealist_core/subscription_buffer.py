"""A bounded mailbox for pub/sub subscriptions, shared by every :class:`~wealist_core.ports.PubSub` adapter.

A publisher must never wait for a slow subscriber (one stuck websocket would stall a whole chat room), so
each subscription keeps at most ``max_pending`` undelivered messages. When a message arrives at a full
mailbox the **oldest** pending message is dropped and a warning is logged: pub/sub is ephemeral fan-out,
and for presence, typing or "board changed" pings the newest state matters most. Whatever must not be
lost goes through the event bus, or is persisted first and re-read on reconnect (DESIGN section 7).
"""

from __future__ import annotations

import asyncio
import collections
import logging

from wealist_core.ports import Subscription

__all__ = ["DEFAULT_MAX_PENDING", "BufferedSubscription"]

logger = logging.getLogger(__name__)

#: Undelivered messages a subscription holds before it drops the oldest.
DEFAULT_MAX_PENDING = 1000


class BufferedSubscription(Subscription):
    """A :class:`Subscription` whose messages wait in a bounded buffer until the consumer iterates.

    Adapters call :meth:`_deliver` for each incoming message and :meth:`_finish` when the subscription
    ends; subclasses implement ``subscribe``, ``unsubscribe`` and ``close``. Iterating yields
    ``(channel, message)`` in arrival order and stops after ``close()``; when the adapter ends the
    subscription with an error, the consumer gets the messages already received, then the error.
    """

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        self._pending: collections.deque[tuple[str, bytes]] = collections.deque()
        self._max_pending = max_pending
        self._wakeup = asyncio.Event()
        self._finished = False
        self._error: BaseException | None = None
        self._overflowing = False
        #: Messages dropped so far because the consumer fell behind.
        self.dropped = 0

    @property
    def closed(self) -> bool:
        return self._finished

    def _deliver(self, channel: str, message: bytes) -> None:
        """Queue one message; never blocks. Drops the oldest pending message when the buffer is full."""
        if self._finished:
            return
        if len(self._pending) >= self._max_pending:
            self._pending.popleft()
            self.dropped += 1
            # One warning per episode of falling behind, not one per message: a stuck consumer
            # would otherwise flood the log at the publish rate.
            if not self._overflowing:
                self._overflowing = True
                logger.warning(
                    "A pub/sub subscriber fell behind by %d messages; dropping the oldest "
                    "(%d dropped so far on this subscription).",
                    self._max_pending,
                    self.dropped,
                )
        self._pending.append((channel, message))
        self._wakeup.set()

    def _finish(self, error: BaseException | None = None) -> None:
        """End iteration: at once for a plain close, after the pending messages when ``error`` is given."""
        if self._finished:
            return
        self._finished = True
        self._error = error
        if error is None:
            self._pending.clear()
        self._wakeup.set()

    def __aiter__(self) -> BufferedSubscription:
        return self

    async def __anext__(self) -> tuple[str, bytes]:
        while True:
            if self._pending:
                item = self._pending.popleft()
                if not self._pending:
                    self._overflowing = False
                return item
            if self._finished:
                if self._error is not None:
                    error, self._error = self._error, None
                    raise error
                raise StopAsyncIteration
            # Clear before waiting, and only when empty: _deliver sets the event after appending, so a
            # message that arrives between the check above and the wait still wakes us.
            self._wakeup.clear()
            await self._wakeup.wait()
