"""``redis://`` and ``rediss://`` pub/sub: fan-out to subscribers in every process.

Publishing goes through the adapter's one client, whose pool reuses an idle connection rather than
opening one per message. Each :class:`RedisSubscription` holds its own redis-py ``PubSub`` (a dedicated
connection, as Redis requires of a subscriber) and one reader task; ``close()`` stops the task and
returns the connection. ``subscribe`` returns only once Redis has confirmed the subscription (a PING
sent after SUBSCRIBE on the same connection is answered after it), so a message published afterwards, by
any process, is received. Messages wait in a bounded buffer that drops the oldest when the consumer falls
behind (:mod:`wealist_core.subscription_buffer`).

Redis channels are server-wide, not per database number: plugins sharing a server keep their channel
names apart by prefixing them with the plugin's name.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.client import PubSub as RedisPubSubConnection
from wealist_adapters.redis._client import is_redis_outage, make_client, ping_or_unavailable

from wealist_core import AdapterContext, PubSub
from wealist_core.outages import translate_outages
from wealist_core.subscription_buffer import DEFAULT_MAX_PENDING, BufferedSubscription

__all__ = ["RedisPubSub", "RedisSubscription"]

_DEFAULT_SETTING = "WEALIST_PUBSUB_URL"
# How long subscribe()/unsubscribe() wait for Redis to confirm before giving up.
_CONFIRM_TIMEOUT = 10.0


class RedisSubscription(BufferedSubscription):
    """One consumer's subscription: its own Redis connection, read by one background task."""

    def __init__(self, owner: RedisPubSub, connection: RedisPubSubConnection, *, max_pending: int) -> None:
        super().__init__(max_pending=max_pending)
        self._owner = owner
        self._connection = connection
        self._confirmations: collections.deque[asyncio.Future[None]] = collections.deque()
        self._send_lock = asyncio.Lock()
        self._reader: asyncio.Task[None] | None = None
        self._released = False

    async def _open(self, channels: tuple[str, ...]) -> None:
        await self._connection.connect()  # type: ignore[no-untyped-call]
        self._reader = asyncio.create_task(self._read(), name="wealist-redis-subscription")
        await self.subscribe(*channels)

    async def subscribe(self, *channels: str) -> None:
        if channels:
            await self._confirmed("SUBSCRIBE", channels)

    async def unsubscribe(self, *channels: str) -> None:
        # No channels means none (redis-py's "unsubscribe from everything" would surprise a caller).
        if channels:
            await self._confirmed("UNSUBSCRIBE", channels)

    async def close(self) -> None:
        if self._released:
            return
        self._released = True
        self._finish()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.wait([self._reader])  # unlike awaiting it, lets a cancellation of close() through
        self._fail_confirmations(ConnectionError("the subscription was closed"))
        await self._connection.aclose()  # type: ignore[no-untyped-call]  # disconnects, which drops the server-side subscriptions
        self._owner._open.discard(self)

    async def _confirmed(self, command: str, channels: tuple[str, ...]) -> None:
        if self.closed:
            raise RuntimeError(f"{command.lower()}() on a closed subscription")
        confirmation: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # The lock keeps each command and its PING together, so PONGs resolve confirmations in order.
        async with self._send_lock:
            if command == "SUBSCRIBE":
                await self._connection.subscribe(*channels)
            else:
                await self._connection.unsubscribe(*channels)
            self._confirmations.append(confirmation)
            try:
                await self._connection.ping()
            except BaseException:
                self._confirmations.remove(confirmation)
                raise
        async with asyncio.timeout(_CONFIRM_TIMEOUT):
            await confirmation

    async def _read(self) -> None:
        try:
            while True:
                message = await self._connection.get_message(timeout=None)
                if message is None:
                    continue
                kind = message["type"]
                if kind == "message":
                    self._deliver(_text(message["channel"]), bytes(message["data"]))
                elif kind == "pong" and self._confirmations:
                    confirmation = self._confirmations.popleft()
                    if not confirmation.done():  # its waiter may have timed out or been cancelled
                        confirmation.set_result(None)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # the connection is gone for good (redis-py retried already)
            self._fail_confirmations(exc)
            self._finish(exc)

    def _fail_confirmations(self, error: BaseException) -> None:
        while self._confirmations:
            confirmation = self._confirmations.popleft()
            if not confirmation.done():
                confirmation.set_exception(error)


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


class RedisPubSub(PubSub):
    """:class:`PubSub` on Redis (or ElastiCache / Valkey) pub/sub."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        url: str,
        setting: str = _DEFAULT_SETTING,
        max_pending: int = DEFAULT_MAX_PENDING,
    ) -> None:
        self._client = client
        self._url = url
        self._setting = setting
        self._max_pending = max_pending
        self._open: set[RedisSubscription] = set()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        setting: str = _DEFAULT_SETTING,
        max_pending: int = DEFAULT_MAX_PENDING,
        **options: Any,
    ) -> RedisPubSub:
        """Build from a URL; ``options`` (e.g. TLS settings) go to redis-py's connection."""
        # Messages are bytes: no decoding, so binary payloads survive.
        client = make_client(url, decode_responses=False, **options)
        return cls(client, url=url, setting=setting, max_pending=max_pending)

    @classmethod
    def from_context(cls, context: AdapterContext) -> RedisPubSub:
        return cls.from_url(context.url, setting=context.setting)

    async def start(self) -> None:
        await ping_or_unavailable(self._client, self._url, self._setting)

    async def check(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        for subscription in tuple(self._open):
            await subscription.close()
        await self._client.aclose()

    async def publish(self, channel: str, message: bytes | str) -> None:
        with translate_outages("pubsub", is_outage=is_redis_outage):
            await self._client.publish(channel, message)

    async def subscribe(self, *channels: str) -> RedisSubscription:
        subscription = RedisSubscription(self, self._client.pubsub(), max_pending=self._max_pending)
        self._open.add(subscription)
        try:
            await subscription._open(channels)
        except BaseException:
            await subscription.close()
            raise
        return subscription
