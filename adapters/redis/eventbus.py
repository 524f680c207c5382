"""``redis://`` and ``rediss://`` event bus on Redis Streams: durable events between processes.

Layout (``prefix`` defaults to ``wealist:``):

- ``<prefix>events:<plugin>``: one stream per *producing* plugin, trimmed to about ``retention`` entries
  (``MAXLEN ~``). Per-plugin streams rather than per-type ones because a plugin's events are causally
  ordered (``task_created`` before ``task_assigned``) and one stream keeps that order for every consumer;
  a group reads only the streams of the plugins it subscribes to, in one ``XREADGROUP`` call, and
  acknowledges the types it does not handle in bulk, which costs far less than one blocking read per type.
- Consumer group = the subscribing plugin's name; consumer = ``<host>-<pid>-<random>``, unique per process.
  A group created for the first time starts at ``0``: it reads every retained event, including those
  published before the plugin ever ran (bounded by ``retention``).
- ``<prefix>done:<group>:<event id>``: set (with ``dedupe_ttl``) when the group handled the event, checked
  before handling, so an event published twice is handled once per group.
- ``<prefix>lease:<group>:<event id>``: held while one consumer handles the event, so two copies of one
  event on two consumers of a group never run at once.
- ``<prefix>deadletter:<group>``: a stream of the events the group gave up on after ``max_attempts``.

URL options (query string, removed before the URL reaches redis-py): ``retry_delay``, ``max_attempts``,
``retention``, ``claim_after``, ``dedupe_ttl``, ``batch``, ``prefix``; see
:class:`wealist_core.eventbus.EventBusOptions`. The events a process was handling when it died are taken
over by another consumer of the group once they have been unacknowledged for ``claim_after`` seconds
(default 30); a live process's heartbeat keeps even slow handlers' events to itself.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import secrets
import socket
from typing import Any

from redis.exceptions import ResponseError
from wealist_adapters.redis._client import make_client, ping_or_unavailable
from wealist_adapters.redis._consumer_group import GroupConsumer, StreamKeys, stop_tasks

from wealist_core import AdapterContext, AdapterError, Event, EventBus, EventHandler
from wealist_core.eventbus import DeadLetter, EventBusOptions, EventSubscriptions, decode_event, encode_event
from wealist_core.settings import mask_url

__all__ = ["RedisEventBus"]

_DEFAULT_SETTING = "WEALIST_EVENTBUS_URL"


class RedisEventBus(EventBus):
    """The :class:`EventBus` on Redis Streams, for deployments of more than one process."""

    def __init__(
        self,
        url: str,
        *,
        options: EventBusOptions | None = None,
        setting: str = _DEFAULT_SETTING,
        display_url: str | None = None,
    ) -> None:
        self.options = options or EventBusOptions()
        self.setting = setting
        self.consumer_name = f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"
        self.keys = StreamKeys(self.options.prefix)
        self._display_url = display_url or url
        self._client = make_client(url, decode_responses=True)
        self._subscriptions = EventSubscriptions()
        self._consumers: dict[str, GroupConsumer] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False

    @classmethod
    def from_context(cls, context: AdapterContext) -> RedisEventBus:
        options, client_url = EventBusOptions.from_url(context.url, setting=context.setting)
        try:
            return cls(client_url, options=options, setting=context.setting, display_url=context.url)
        except ValueError as exc:
            raise AdapterError(
                f"{context.setting} is {mask_url(context.url)}, which redis-py cannot read ({exc}); "
                "fix the URL."
            ) from exc

    # ------------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await self.check()

    async def check(self) -> None:
        try:
            await ping_or_unavailable(self._client, self._display_url, self.setting)
        except TypeError as exc:  # redis-py got a query option it does not know
            raise AdapterError(
                f"{self.setting} is {mask_url(self._display_url)}, whose options neither the event bus nor "
                f"redis-py knows ({exc}); remove the unknown option."
            ) from exc

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        tasks, self._tasks = self._tasks, []
        await stop_tasks(tasks)
        await self._client.aclose()

    # ----------------------------------------------------------------------------------------------- port

    async def publish(self, event: Event) -> None:
        if self._closed:
            raise RuntimeError("publish() on a closed event bus")
        await self._client.xadd(
            self.keys.stream(event.source),
            {"id": event.id, "type": event.type, "event": encode_event(event)},
            maxlen=self.options.retention,
            approximate=True,
        )

    def subscribe(self, group: str, event_type: str, handler: EventHandler) -> None:
        self._subscriptions.add(group, event_type, handler)

    async def start_consuming(self) -> None:
        if self._subscriptions.frozen:
            return
        if self._closed:
            raise RuntimeError("start_consuming() on a closed event bus")
        self._subscriptions.freeze()
        for group in self._subscriptions.groups():
            consumer = GroupConsumer(
                self._client,
                group=group,
                consumer=self.consumer_name,
                subscriptions=self._subscriptions,
                options=self.options,
                keys=self.keys,
            )
            self._consumers[group] = consumer
            self._tasks.append(asyncio.create_task(consumer.run(), name=f"eventbus-{group}"))

    # ---------------------------------------------------------------------------------------- operations

    async def lag(self, group: str) -> int:
        """Events of ``group``'s streams it has not finished with: delivered but unacknowledged (pending)
        plus not yet delivered, summed over the streams the group reads, in every process."""
        total = 0
        for stream in await self._streams_of(group):
            try:
                infos = await self._client.xinfo_groups(stream)
            except ResponseError:  # no such stream
                continue
            for info in infos:
                if info["name"] != group:
                    continue
                lag = info.get("lag")
                if lag is None:  # Redis cannot tell (entries were deleted): count what follows the group
                    lag = await self._count_after(stream, info["last-delivered-id"])
                total += int(info["pending"]) + int(lag)
        return total

    async def dead_letters(self, group: str, *, limit: int = 100) -> list[DeadLetter]:
        """The events ``group`` gave up on, oldest first (the last ``retention`` of them are kept)."""
        letters = []
        for _entry_id, fields in await self._client.xrange(self.keys.dead_letters(group), count=limit):
            try:
                event: Event | None = decode_event(fields.get("event", ""))
            except ValueError:
                event = None
            letters.append(
                DeadLetter(
                    group=group,
                    event=event,
                    attempts=int(fields.get("attempts", 0)),
                    error=fields.get("error", ""),
                    failed_at=dt.datetime.fromisoformat(fields["failed_at"]),
                )
            )
        return letters

    async def _streams_of(self, group: str) -> list[str]:
        consumer = self._consumers.get(group)
        if consumer is not None:
            return list(consumer.streams)
        if group in self._subscriptions:
            return [self.keys.stream(source) for source in self._subscriptions.sources(group)]
        # A group of another process: look at every event stream.
        return [str(key) async for key in self._client.scan_iter(match=self.keys.stream("*"), _type="stream")]

    async def _count_after(self, stream: str, last_id: str) -> int:
        count, start = 0, f"({last_id}"
        while True:
            entries: list[Any] = await self._client.xrange(stream, min=start, count=1000)
            count += len(entries)
            if len(entries) < 1000:
                return count
            start = f"({entries[-1][0]}"
