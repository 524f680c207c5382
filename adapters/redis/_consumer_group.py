"""One consumer group's reader on Redis Streams: read, claim, handle, acknowledge, dead-letter.

A :class:`GroupConsumer` is this process's member of one consumer group (a plugin). It runs one loop:

1. every ``claim_after / 2`` seconds, ``XAUTOCLAIM`` the group's entries that some consumer has left
   unacknowledged for ``claim_after`` seconds (its process died) and handle them with their delivery count;
2. ``XREADGROUP >`` the group's streams, blocking briefly, and handle what arrives, in stream order.

Handling an entry: skip it (acknowledge) when no subscription of the group takes its type or when the group
has already handled its event id (the ``done`` marker); otherwise take a short lease on the event id, so a
second copy of the same event held by another consumer waits instead of running concurrently, and call the
handlers. A failure is retried in place after a backoff, re-claiming the entry with ``XCLAIM`` so Redis
counts the attempt (the count survives a crash: the next consumer knows how many attempts were made). On
success the ``done`` marker is set and the entry acknowledged in one transaction; after ``max_attempts``
the entry is copied to the group's dead-letter stream and acknowledged in one transaction.

While entries are held, a heartbeat re-claims them every ``claim_after / 3`` seconds (``XCLAIM JUSTID``
resets their idle time without counting a delivery) and extends the leases, so a slow handler is never
mistaken for a dead one.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import RedisError, ResponseError

from wealist_core import Event
from wealist_core.eventbus import (
    EventBusOptions,
    EventSubscription,
    EventSubscriptions,
    decode_event,
    describe_error,
)

__all__ = ["GroupConsumer", "StreamKeys", "stop_tasks"]

logger = logging.getLogger("wealist.eventbus")

# Returns 0 when the group already handled the event, 1 when the lease was taken, 2 when someone holds it.
_ACQUIRE = """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return 1 end
return 2
"""
_EXTEND = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
"""
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""
# A consumer this long silent with nothing pending is a leftover of a stopped process.
_STALE_CONSUMER_MS = 3_600_000

Entry = tuple[str, Mapping[str, str], int]  # entry id, fields, delivery count


@dataclass(frozen=True, slots=True)
class StreamKeys:
    """Names of every key the bus writes, all under one prefix."""

    prefix: str

    def stream(self, source: str) -> str:
        return f"{self.prefix}events:{source}"

    def dead_letters(self, group: str) -> str:
        return f"{self.prefix}deadletter:{group}"

    def done(self, group: str, event_id: str) -> str:
        return f"{self.prefix}done:{group}:{event_id}"

    def lease(self, group: str, event_id: str) -> str:
        return f"{self.prefix}lease:{group}:{event_id}"


class GroupConsumer:
    """This process's consumer in group ``group``: reads its streams and runs its handlers until cancelled."""

    def __init__(
        self,
        client: aioredis.Redis,
        *,
        group: str,
        consumer: str,
        subscriptions: EventSubscriptions,
        options: EventBusOptions,
        keys: StreamKeys,
    ) -> None:
        self.client = client
        self.group = group
        self.consumer = consumer
        self.options = options
        self.keys = keys
        self._subscriptions = subscriptions
        self.streams = [keys.stream(source) for source in subscriptions.sources(group)]
        self._held: dict[str, set[str]] = {}  # stream -> entry ids read but not yet finished
        self._leases: dict[str, str] = {}  # lease key -> our token
        self._acquire = client.register_script(_ACQUIRE)
        self._extend = client.register_script(_EXTEND)
        self._release = client.register_script(_RELEASE)
        self._lease_ms = max(int(options.claim_after * 1000), 1)
        self._claim_interval = max(min(options.claim_after / 2, 5.0), 0.01)
        self._block_ms = max(int(min(self._claim_interval, 2.0) * 1000), 10)

    # ------------------------------------------------------------------------------------------ the loop

    async def run(self) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(), name=f"eventbus-heartbeat-{self.group}")
        try:
            await self._loop()
        finally:
            await stop_tasks([heartbeat])

    async def _loop(self) -> None:
        loop = asyncio.get_running_loop()
        ready, failures, next_claim = False, 0, 0.0
        while True:
            try:
                if not ready:
                    await self._create_groups()
                    ready = True
                if loop.time() >= next_claim:
                    await self._claim_stale()
                    next_claim = loop.time() + self._claim_interval
                reply = await self.client.xreadgroup(
                    self.group,
                    self.consumer,
                    dict.fromkeys(self.streams, ">"),
                    count=self.options.batch,
                    block=self._block_ms,
                )
                for stream, entries in _stream_entries(reply):
                    await self._handle_batch(stream, [(entry_id, fields, 1) for entry_id, fields in entries])
                failures = 0
            except Exception as exc:
                if _stopping():
                    raise asyncio.CancelledError from exc
                # The consumer must outlive a Redis restart or a bug: entries stay pending and come back.
                failures += 1
                delay = min(0.1 * 2**failures, 5.0)
                if isinstance(exc, ResponseError) and "NOGROUP" in str(exc):
                    ready = False  # a stream was deleted under us: create the group again
                if isinstance(exc, (RedisError, OSError)):
                    logger.warning(
                        "event bus group %s: Redis failed (%s); trying again in %.1f s",
                        self.group,
                        describe_error(exc),
                        delay,
                    )
                else:
                    logger.exception(
                        "event bus group %s: unexpected error; trying again in %.1f s", self.group, delay
                    )
                await asyncio.sleep(delay)

    async def _create_groups(self) -> None:
        for stream in self.streams:
            try:
                # From "0": a group new to a stream reads every retained event, published before it or not.
                await self.client.xgroup_create(stream, self.group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise
            await self._forget_stale_consumers(stream)

    async def _forget_stale_consumers(self, stream: str) -> None:
        """Delete members left by stopped processes (only those with nothing pending: deleting a consumer
        drops its pending entries)."""
        for info in await self.client.xinfo_consumers(stream, self.group):
            stale = int(info["pending"]) == 0 and int(info["idle"]) > _STALE_CONSUMER_MS
            if stale and info["name"] != self.consumer:
                await self.client.xgroup_delconsumer(stream, self.group, info["name"])

    async def _claim_stale(self) -> None:
        min_idle = self._lease_ms
        for stream in self.streams:
            start = "0-0"
            while True:
                reply = await self.client.xautoclaim(
                    stream, self.group, self.consumer, min_idle, start, count=self.options.batch
                )
                start, claimed = reply[0], [(i, f) for i, f in reply[1] if f is not None]
                deleted = reply[2] if len(reply) > 2 else []
                if deleted:
                    logger.warning(
                        "event bus group %s lost %d unacknowledged %s entries to retention",
                        self.group,
                        len(deleted),
                        stream,
                    )
                if claimed:
                    logger.info(
                        "event bus group %s took over %d %s entries left unacknowledged for %.1f s",
                        self.group,
                        len(claimed),
                        stream,
                        self.options.claim_after,
                    )
                    counts = await self._delivery_counts(stream, [entry_id for entry_id, _ in claimed])
                    await self._handle_batch(stream, [(i, f, counts.get(i, 1)) for i, f in claimed])
                if start == "0-0":
                    break

    async def _delivery_counts(self, stream: str, ids: Sequence[str]) -> dict[str, int]:
        pending = await self.client.xpending_range(
            stream, self.group, ids[0], ids[-1], len(ids) + 100, consumername=self.consumer
        )
        return {str(p["message_id"]): int(p["times_delivered"]) for p in pending}

    async def _heartbeat(self) -> None:
        interval = self.options.claim_after / 3
        while True:
            await asyncio.sleep(interval)
            if not any(self._held.values()) and not self._leases:
                continue
            try:
                pipe = self.client.pipeline(transaction=False)
                for stream, ids in self._held.items():
                    if ids:
                        pipe.xclaim(stream, self.group, self.consumer, 0, list(ids), justid=True)
                for key, token in self._leases.items():
                    await self._extend(keys=[key], args=[token, self._lease_ms], client=pipe)
                await pipe.execute()
            except (RedisError, OSError) as exc:
                logger.warning("event bus group %s: heartbeat failed: %s", self.group, describe_error(exc))

    # -------------------------------------------------------------------------------------------- entries

    async def _handle_batch(self, stream: str, entries: Sequence[Entry]) -> None:
        ids = [entry_id for entry_id, _, _ in entries]
        held = self._held.setdefault(stream, set())
        held.update(ids)
        skipped: list[str] = []
        try:
            for entry_id, fields, delivered in entries:
                if await self._handle(stream, entry_id, fields, delivered):
                    skipped.append(entry_id)
                held.discard(entry_id)
        finally:
            held.difference_update(ids)
        if skipped:
            await self.client.xack(stream, self.group, *skipped)

    async def _handle(self, stream: str, entry_id: str, fields: Mapping[str, str], delivered: int) -> bool:
        """Handle one entry; True when it only needs acknowledging (not ours, or handled before)."""
        data = fields.get("event", "")
        try:
            event = decode_event(data)
        except ValueError as exc:
            await self._bury(stream, entry_id, None, data, delivered, f"undecodable entry: {exc}")
            return False
        subscriptions = self._subscriptions.matching(self.group, event.type)
        if not subscriptions:
            return True
        lease = await self._take_lease(event.id)
        if lease is None:
            return True
        try:
            if delivered > self.options.max_attempts:
                await self._bury(
                    stream,
                    entry_id,
                    event,
                    data,
                    delivered - 1,
                    f"delivered {delivered} times and never acknowledged: the consumers that took it stopped "
                    "before finishing",
                )
                return False
            await self._attempt(stream, entry_id, event, data, subscriptions, delivered)
            return False
        finally:
            await self._give_back(lease)

    async def _attempt(
        self,
        stream: str,
        entry_id: str,
        event: Event,
        data: str,
        subscriptions: list[EventSubscription],
        attempt: int,
    ) -> None:
        done = self.keys.done(self.group, event.id)
        while True:
            try:
                await self._run_handlers(event, subscriptions, done)
            except Exception as exc:
                if _stopping():  # the failure may be the shutdown's doing: leave the entry for later
                    raise asyncio.CancelledError from exc
                if attempt >= self.options.max_attempts:
                    await self._bury(stream, entry_id, event, data, attempt, describe_error(exc), exc)
                    return
                logger.warning(
                    "event bus group %s: handling %s %s failed (attempt %d of %d), retrying: %s",
                    self.group,
                    event.type,
                    event.id,
                    attempt,
                    self.options.max_attempts,
                    describe_error(exc),
                    exc_info=exc,
                )
                await asyncio.sleep(self.options.backoff(attempt))
                # Claiming the entry again makes Redis count the delivery and hands back a fresh copy.
                again = await self.client.xclaim(stream, self.group, self.consumer, 0, [entry_id])
                if not again or again[0][1] is None:
                    logger.warning(
                        "event bus group %s: %s %s was trimmed by retention while being retried",
                        self.group,
                        event.type,
                        event.id,
                    )
                    return
                fields = cast(Mapping[str, str], again[0][1])
                data = fields.get("event", data)
                event = decode_event(data)
                attempt += 1
                continue
            ttl_ms = int(self.options.dedupe_ttl * 1000)
            async with self.client.pipeline(transaction=True) as pipe:
                pipe.set(done, "1", px=ttl_ms, nx=True)
                if len(subscriptions) > 1:
                    pipe.delete(*(f"{done}:{s.name}" for s in subscriptions))
                pipe.xack(stream, self.group, entry_id)
                await pipe.execute()
            return

    async def _run_handlers(self, event: Event, subscriptions: list[EventSubscription], done: str) -> None:
        if len(subscriptions) == 1:
            await subscriptions[0].handler(event)
            return
        # Several handlers of the group take this event: mark each success, so a retry after a later one
        # failed does not run the earlier ones again.
        keys = [f"{done}:{s.name}" for s in subscriptions]
        finished = await self.client.mget(keys)
        for subscription, key, flag in zip(subscriptions, keys, finished, strict=True):
            if flag is not None:
                continue
            await subscription.handler(event)
            await self.client.set(key, "1", px=int(self.options.dedupe_ttl * 1000))

    async def _take_lease(self, event_id: str) -> tuple[str, str] | None:
        """Lease ``event_id`` for this group; None when the group has already handled it.

        Another consumer holding the lease is handling a second copy of the same event right now: wait until
        it finishes (its ``done`` marker appears) or gives up (the lease is released or expires).
        """
        done, key = self.keys.done(self.group, event_id), self.keys.lease(self.group, event_id)
        token = f"{self.consumer}:{secrets.token_hex(4)}"
        poll = min(0.1, self.options.claim_after / 4)
        while True:
            taken = await self._acquire(keys=[done, key], args=[token, self._lease_ms])
            if taken == 0:
                return None
            if taken == 1:
                self._leases[key] = token
                return key, token
            await asyncio.sleep(poll)

    async def _give_back(self, lease: tuple[str, str]) -> None:
        key, token = lease
        self._leases.pop(key, None)
        # Best effort (also on cancellation): an unreleased lease expires after claim_after anyway.
        with contextlib.suppress(RedisError, OSError, TimeoutError):
            async with asyncio.timeout(1.0):
                await self._release(keys=[key], args=[token])

    async def _bury(
        self,
        stream: str,
        entry_id: str,
        event: Event | None,
        data: str,
        attempts: int,
        error: str,
        exc: BaseException | None = None,
    ) -> None:
        """Move the entry to the group's dead letters and acknowledge it, in one transaction."""
        async with self.client.pipeline(transaction=True) as pipe:
            pipe.xadd(
                self.keys.dead_letters(self.group),
                {
                    "group": self.group,
                    "stream": stream,
                    "entry": entry_id,
                    "event": data,
                    "attempts": str(attempts),
                    "error": error,
                    "failed_at": dt.datetime.now(dt.UTC).isoformat(),
                },
                maxlen=self.options.retention,
                approximate=True,
            )
            pipe.xack(stream, self.group, entry_id)
            await pipe.execute()
        what = f"{event.type} {event.id}" if event else f"entry {entry_id} of {stream}"
        logger.error(
            "event bus group %s gave up on %s after %d attempts; it is a dead letter now: %s",
            self.group,
            what,
            attempts,
            error,
            exc_info=exc,
        )


async def stop_tasks(tasks: Iterable[asyncio.Task[Any]]) -> None:
    """Cancel ``tasks`` and wait until they have ended.

    redis-py can swallow a cancellation that lands at the wrong moment of a command (redis/redis-py#2028),
    after which the task would run on: cancel again until every task has really stopped.
    """
    tasks = list(tasks)
    pending = set(tasks)
    while pending:
        for task in pending:
            task.cancel()
        _done, pending = await asyncio.wait(pending, timeout=0.1)
    for task in tasks:
        if not task.cancelled() and task.exception() is not None:
            logger.error("event bus task %s failed", task.get_name(), exc_info=task.exception())


def _stopping() -> bool:
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0


def _stream_entries(reply: Any) -> Iterable[tuple[str, list[tuple[str, Mapping[str, str]]]]]:
    """``XREADGROUP``'s answer as ``(stream, entries)`` pairs, whichever protocol the URL chose."""
    if not reply:
        return []
    if isinstance(reply, Mapping):  # RESP3
        return [(stream, [(i, f) for i, f in _entries(value)]) for stream, value in reply.items()]
    return [(stream, list(entries)) for stream, entries in reply]


def _entries(value: Any) -> list[tuple[str, Mapping[str, str]]]:
    # RESP3 nests each stream's entries one list deeper than RESP2 in some redis-py versions.
    if value and isinstance(value[0], list) and value[0] and isinstance(value[0][0], list | tuple):
        value = value[0]
    return [(entry[0], entry[1]) for entry in value]
