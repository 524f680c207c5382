"""The short-lived cache of a remote contract's answers, and how the provider's events reach every copy.

A contract method marked :func:`~wealist_core.contracts.cacheable` is answered from the calling process's
:class:`ResultCache` for a few seconds (``WEALIST_CONTRACT_CACHE_SECONDS``) when its provider runs in
another process; in the provider's own process calls are direct and nothing is cached.

An event of the provider drops the cached answers it may have changed, in every process. The event bus
cannot do that by itself: it delivers an event to one replica of a consumer group. So the provider's
process takes its own events in one consumer group of its own (``<provider>-contracts``: one replica of
the provider handles each event) and re-publishes each event's type on the provider's ``PubSub``
channel ``wealist:contracts:<provider>:<deployment>``, which every subscribed process receives
(:class:`Invalidations`).
Pub/sub is at most once: a process that misses a message (its Redis connection was down) keeps a stale
answer no longer than the cache's lifetime, and while its subscription is down it caches nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import logging
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from wealist_core.adapters import AdapterContext, AdapterRegistry
from wealist_core.ports import Event, EventBus, PubSub
from wealist_core.settings import Settings

__all__ = ["MISSING", "CacheGroup", "Invalidations", "ResultCache", "channel_for", "invalidation_group"]

log = logging.getLogger("wealist.contracts")

#: What :meth:`ResultCache.get` answers when it holds nothing for the key.
MISSING: Any = object()

# An event older than the cache's lifetime by this much cannot concern any answer cached now; a consumer
# group created for the first time replays the retained stream, and those old events are skipped.
_REPLAY_MARGIN = 60.0


def matches(patterns: Sequence[str], event_type: str) -> bool:
    """Whether ``event_type`` is one of ``patterns`` (``user.member_added``, or ``user.member_*``)."""
    return any(
        event_type.startswith(pattern[:-1]) if pattern.endswith("*") else event_type == pattern
        for pattern in patterns
    )


class ResultCache:
    """The answers of one remote contract's cacheable methods, each kept ``seconds``.

    ``policies`` maps each cacheable method to the event types that drop its answers (empty: every event of
    the provider). A call made while an invalidation arrives does not store its answer (the generation
    changed meanwhile), so an answer read before a change is never kept after the change's event.
    """

    def __init__(
        self, provider: str, policies: Mapping[str, Sequence[str]], seconds: float, max_entries: int = 10_000
    ) -> None:
        self.provider = provider
        self.seconds = seconds
        self.max_entries = max_entries
        self._policies = dict(policies)
        self._entries: dict[str, dict[str, tuple[float, Any]]] = {name: {} for name in policies}
        #: Off until the process listens to the provider's invalidations (and while it cannot).
        self.enabled = False
        self.generation = 0
        self.hits = 0
        self.misses = 0

    def caches(self, method: str) -> bool:
        return method in self._policies

    def get(self, method: str, key: str) -> Any:
        if not self.enabled:
            return MISSING
        entries = self._entries[method]
        found = entries.get(key)
        if found is None or found[0] < time.monotonic():
            if found is not None:
                del entries[key]
            self.misses += 1
            return MISSING
        self.hits += 1
        return found[1]

    def put(self, method: str, key: str, value: Any, generation: int) -> None:
        if not self.enabled or generation != self.generation:
            return
        entries = self._entries[method]
        if len(entries) >= self.max_entries:
            # Oldest first (insertion order): a bounded memory, whatever the callers ask.
            del entries[next(iter(entries))]
        entries[key] = (time.monotonic() + self.seconds, value)

    def invalidate(self, event_type: str | None = None) -> None:
        """Drop the answers ``event_type`` may have changed; everything when it is None."""
        self.generation += 1
        for method, patterns in self._policies.items():
            if event_type is None or not patterns or matches(patterns, event_type):
                self._entries[method].clear()

    def set_enabled(self, enabled: bool) -> None:
        self.invalidate()
        self.enabled = enabled


class CacheGroup:
    """The caches of one remote provider's contracts in this process, and whether they may cache: only while
    the process listens to the provider's invalidations. A client made later (a guard asks for its contract
    on its first request) joins in the group's current state."""

    def __init__(self, provider: str) -> None:
        self.provider = provider
        self.caches: list[ResultCache] = []
        self.enabled = False

    def add(self, cache: ResultCache) -> None:
        cache.set_enabled(self.enabled)
        self.caches.append(cache)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        for cache in self.caches:
            cache.set_enabled(enabled)

    def invalidate(self, event_type: str) -> None:
        for cache in self.caches:
            cache.invalidate(event_type)


def channel_for(provider: str, service_token: str) -> str:
    """The provider's invalidation channel. Redis channels are server-wide (not per database number): the
    deployment's part, a digest of its service token, keeps two deployments on one server apart."""
    digest = hashlib.sha256(service_token.encode()).hexdigest()[:12]
    return f"wealist:contracts:{provider}:{digest}"


def invalidation_group(provider: str) -> str:
    """The consumer group in which the provider's process takes its own events (no plugin is named so)."""
    return f"{provider}-contracts"


class Invalidations:
    """Both ends of the invalidations of one process, started and stopped with its lifespan.

    - For each contract provided here with cacheable methods: a subscription of the provider's event bus,
      in group :func:`invalidation_group`, that publishes each event's type on :func:`channel_for`.
    - For each remote provider whose answers are cached here: a listener on that channel that drops the
      answers, resubscribing (and caching nothing meanwhile) when the subscription is lost.

    Each end uses the provider's pub/sub URL (``WEALIST_<PROVIDER>__PUBSUB_URL``, else
    ``WEALIST_PUBSUB_URL``): every process of the deployment must reach the same one, as for events.
    """

    def __init__(self, settings: Settings, registry: AdapterRegistry) -> None:
        self._settings = settings
        self._registry = registry
        self._pubsubs: dict[str, PubSub] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._started = time.time()

    def _pubsub(self, provider: str) -> PubSub:
        found = self._pubsubs.get(provider)
        if found is None:
            url = self._settings.url_for("pubsub", provider)
            setting = self._settings.setting_name("pubsub", provider)
            spec = self._registry.resolve("pubsub", url, setting=setting, plugin=provider)
            resource = spec.factory(AdapterContext(url=url, settings=self._settings, setting=setting))
            if not isinstance(resource, PubSub):
                raise TypeError(f"{spec.name} does not implement PubSub")
            found = self._pubsubs[provider] = resource
        return found

    async def start(
        self,
        *,
        seconds: float,
        provided: Iterable[str],
        cached: Iterable[CacheGroup],
        eventbus_of: Callable[[str], EventBus | None],
    ) -> list[EventBus]:
        """Open both ends: ``provided`` are the providers running here with cacheable methods, ``cached``
        the cache groups of the remote providers this process calls. Returns the buses subscribed to, which
        the caller starts consuming once every subscription of the process is made. Nothing when
        ``seconds`` is 0."""
        if seconds <= 0:
            return []
        buses = {provider: bus for provider in provided if (bus := eventbus_of(provider)) is not None}
        groups = list(cached)
        for provider in (*buses, *(group.provider for group in groups)):
            await self._pubsub(provider).start()
        for provider, bus in buses.items():
            bus.subscribe(invalidation_group(provider), f"{provider}.*", self._relay(provider, seconds))
        for group in groups:
            listening = asyncio.Event()
            task = asyncio.create_task(
                self._listen(group, listening), name=f"contract-cache-{group.provider}"
            )
            self._tasks.append(task)
            # Caching starts once the subscription is confirmed; a pub/sub that cannot be reached leaves
            # the cache off (calls still work, uncached) until the listener gets through.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(listening.wait(), timeout=5.0)
        return list(buses.values())

    def _relay(self, provider: str, seconds: float) -> Callable[[Event], Any]:
        channel = channel_for(provider, self._settings.service_token)
        pubsub = self._pubsub(provider)
        oldest = dt.timedelta(seconds=seconds + _REPLAY_MARGIN)
        started = dt.datetime.fromtimestamp(self._started, dt.UTC)

        async def relay(event: Event) -> None:
            if event.occurred_at < started - oldest:
                return  # replayed from before this process started, older than any cached answer
            await pubsub.publish(channel, event.type)

        relay.__qualname__ = f"contract_cache_relay[{provider}]"
        return relay

    async def _listen(self, group: CacheGroup, listening: asyncio.Event) -> None:
        provider = group.provider
        channel = channel_for(provider, self._settings.service_token)
        pubsub = self._pubsub(provider)
        delay = 0.5
        while True:
            try:
                subscription = await pubsub.subscribe(channel)
            except Exception as exc:
                log.warning(
                    "contract answers of %s are not cached: its invalidations cannot be received (%s)",
                    provider,
                    type(exc).__name__,
                )
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10.0)
                continue
            delay = 0.5
            group.set_enabled(True)
            listening.set()
            try:
                async for _channel, message in subscription:
                    group.invalidate(message.decode(errors="replace"))
            except Exception as exc:  # the connection is gone; resubscribe below
                log.warning(
                    "lost the invalidations of %s (%s); not caching until resubscribed",
                    provider,
                    type(exc).__name__,
                )
            finally:
                group.set_enabled(False)
                with contextlib.suppress(Exception):
                    await subscription.close()
            await asyncio.sleep(delay)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks)
        self._tasks.clear()
        for pubsub in self._pubsubs.values():
            with contextlib.suppress(Exception):
                await pubsub.close()
        self._pubsubs.clear()
