"""``memory://`` pub/sub: fan-out between the coroutines of one process.

``publish`` hands the message to every current subscriber's bounded buffer and returns at once: a slow
subscriber never blocks a publisher. When a subscriber falls more than ``max_pending`` messages behind,
its oldest pending messages are dropped with a logged warning (see
:mod:`wealist_core.subscription_buffer`). Only subscribers of this adapter instance receive messages, so
the host gives every plugin of a process the same instance.
"""

from __future__ import annotations

from wealist_core import AdapterContext, PubSub
from wealist_core.subscription_buffer import DEFAULT_MAX_PENDING, BufferedSubscription

__all__ = ["MemoryPubSub", "MemorySubscription"]


class MemorySubscription(BufferedSubscription):
    """One consumer's subscription to channels of a :class:`MemoryPubSub`."""

    def __init__(self, broker: MemoryPubSub, *, max_pending: int) -> None:
        super().__init__(max_pending=max_pending)
        self._broker = broker
        self.channels: set[str] = set()

    async def subscribe(self, *channels: str) -> None:
        if self.closed:
            raise RuntimeError("subscribe() on a closed subscription")
        for channel in channels:
            self._broker._subscribers.setdefault(channel, set()).add(self)
            self.channels.add(channel)

    async def unsubscribe(self, *channels: str) -> None:
        for channel in channels:
            self._broker._detach(channel, self)
            self.channels.discard(channel)

    async def close(self) -> None:
        await self.unsubscribe(*self.channels)
        self._broker._open.discard(self)
        self._finish()


class MemoryPubSub(PubSub):
    """The in-process :class:`PubSub`: the embedded default."""

    def __init__(self, *, max_pending: int = DEFAULT_MAX_PENDING) -> None:
        self._max_pending = max_pending
        self._subscribers: dict[str, set[MemorySubscription]] = {}
        self._open: set[MemorySubscription] = set()

    @classmethod
    def from_context(cls, context: AdapterContext) -> MemoryPubSub:
        return cls()

    async def publish(self, channel: str, message: bytes | str) -> None:
        data = message.encode() if isinstance(message, str) else bytes(message)
        for subscription in tuple(self._subscribers.get(channel, ())):
            subscription._deliver(channel, data)

    async def subscribe(self, *channels: str) -> MemorySubscription:
        subscription = MemorySubscription(self, max_pending=self._max_pending)
        self._open.add(subscription)
        await subscription.subscribe(*channels)
        return subscription

    async def close(self) -> None:
        for subscription in tuple(self._open):
            await subscription.close()

    def _detach(self, channel: str, subscription: MemorySubscription) -> None:
        subscribers = self._subscribers.get(channel)
        if subscribers is not None:
            subscribers.discard(subscription)
            if not subscribers:
                del self._subscribers[channel]
