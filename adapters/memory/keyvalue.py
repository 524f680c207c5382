"""``memory://`` key-value store: Redis semantics inside one process.

A real implementation, not a mock: expiry is honoured on a monotonic clock (lazily on every access, and
expired keys are pruned from a deadline heap on writes so a store of short-lived tokens does not grow),
sets and sorted sets behave as Redis's do (an emptied collection disappears, a wrong-type access raises),
and namespaces are views of the same data.

Every operation runs without awaiting, so under asyncio each one is atomic: two coroutines calling
``incr`` concurrently never lose an update. The store is not for threads; the host runs it on its loop.
"""

from __future__ import annotations

import builtins
import copy
import heapq
import re
import time
from collections.abc import Callable, Mapping

from wealist_core import AdapterContext, KeyValue

__all__ = ["MemoryKeyValue"]

_Value = str | set[str] | dict[str, float]
_INTEGER = re.compile(r"-?\d+")
# Rebuild the deadline heap when stale entries (from keys re-expired or deleted) outnumber live ones
# this many times; keeps memory bounded when a presence key's TTL is refreshed every few seconds.
_HEAP_SLACK = 4


class _Store:
    """The data shared by a store and all its namespaces."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.values: dict[str, _Value] = {}
        self.deadlines: dict[str, float] = {}
        self._heap: list[tuple[float, str]] = []

    # -------------------------------------------------------------------------------------- expiry

    def live(self, key: str) -> _Value | None:
        """The key's value, or None when it is missing or expired (an expired key is removed)."""
        deadline = self.deadlines.get(key)
        if deadline is not None and deadline <= self.clock():
            self.remove(key)
            return None
        return self.values.get(key)

    def remove(self, key: str) -> bool:
        self.deadlines.pop(key, None)
        return self.values.pop(key, None) is not None

    def set_deadline(self, key: str, ttl: float | None) -> None:
        if ttl is None:
            self.deadlines.pop(key, None)
            return
        deadline = self.clock() + ttl
        self.deadlines[key] = deadline
        heapq.heappush(self._heap, (deadline, key))
        if len(self._heap) > _HEAP_SLACK * len(self.deadlines) + 64:
            self._heap = [(d, k) for k, d in self.deadlines.items()]
            heapq.heapify(self._heap)

    def prune(self) -> None:
        """Remove every expired key; cheap when nothing has expired (one heap peek)."""
        now = self.clock()
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, key = heapq.heappop(heap)
            # The entry is stale when the key was re-expired, persisted or deleted since it was pushed.
            if self.deadlines.get(key) == deadline:
                self.remove(key)

    # ------------------------------------------------------------------------------------ typed access

    def string(self, key: str) -> str | None:
        value = self.live(key)
        if value is None or isinstance(value, str):
            return value
        raise TypeError(f"key {key!r} holds a {_kind(value)}, not a string")

    def set_of(self, key: str) -> set[str] | None:
        value = self.live(key)
        if value is None or isinstance(value, set):
            return value
        raise TypeError(f"key {key!r} holds a {_kind(value)}, not a set")

    def zset(self, key: str) -> dict[str, float] | None:
        value = self.live(key)
        if value is None or isinstance(value, dict):
            return value
        raise TypeError(f"key {key!r} holds a {_kind(value)}, not a sorted set")


def _kind(value: _Value) -> str:
    return "string" if isinstance(value, str) else "set" if isinstance(value, set) else "sorted set"


def _text(value: str | bytes) -> str:
    return value.decode() if isinstance(value, bytes) else value


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl}")


class MemoryKeyValue(KeyValue):
    """The in-process :class:`KeyValue`: the embedded default, and a faithful stand-in for Redis in tests."""

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._store = _Store(clock)
        self._prefix = ""

    @classmethod
    def from_context(cls, context: AdapterContext) -> MemoryKeyValue:
        return cls()

    def namespace(self, prefix: str) -> MemoryKeyValue:
        view = copy.copy(self)  # shares the _Store: a view, not a copy of the data
        view._prefix = self._prefix + prefix
        return view

    def _k(self, key: str) -> str:
        return self._prefix + key

    # ------------------------------------------------------------------------------------------ strings

    async def get(self, key: str) -> str | None:
        return self._store.string(self._k(key))

    async def set(
        self, key: str, value: str | bytes, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        _check_ttl(ttl)
        store, k = self._store, self._k(key)
        store.prune()
        if only_if_absent and store.live(k) is not None:
            return False
        store.values[k] = _text(value)
        store.set_deadline(k, ttl)  # a plain set clears an earlier expiry, as Redis SET does
        return True

    async def delete(self, *keys: str) -> int:
        store = self._store
        store.prune()
        return sum(1 for key in keys if store.live(self._k(key)) is not None and store.remove(self._k(key)))

    async def exists(self, key: str) -> bool:
        return self._store.live(self._k(key)) is not None

    async def expire(self, key: str, ttl: float) -> bool:
        store, k = self._store, self._k(key)
        store.prune()
        if store.live(k) is None:
            return False
        if ttl <= 0:
            store.remove(k)  # Redis deletes a key given a non-positive expiry
        else:
            store.set_deadline(k, ttl)
        return True

    async def ttl(self, key: str) -> float | None:
        store, k = self._store, self._k(key)
        if store.live(k) is None:
            return None
        deadline = store.deadlines.get(k)
        return None if deadline is None else max(0.0, deadline - store.clock())

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        _check_ttl(ttl)
        store, k = self._store, self._k(key)
        store.prune()
        current = store.string(k)
        if current is None:
            store.values[k] = str(amount)
            store.set_deadline(k, ttl)
            return amount
        if not _INTEGER.fullmatch(current):
            raise ValueError(f"key {key!r} does not hold an integer")
        result = int(current) + amount
        store.values[k] = str(result)  # an existing counter keeps its expiry, as Redis INCRBY does
        return result

    # --------------------------------------------------------------------------------------------- sets

    async def sadd(self, key: str, *members: str) -> int:
        store, k = self._store, self._k(key)
        store.prune()
        current = store.set_of(k)
        if not members:
            return 0
        if current is None:
            current = set()
            store.values[k] = current
        before = len(current)
        current.update(members)
        return len(current) - before

    async def srem(self, key: str, *members: str) -> int:
        store, k = self._store, self._k(key)
        current = store.set_of(k)
        if current is None:
            return 0
        before = len(current)
        current.difference_update(members)
        if not current:
            store.remove(k)
        return before - len(current)

    async def smembers(self, key: str) -> builtins.set[str]:  # `set` is a method here
        return set(self._store.set_of(self._k(key)) or ())

    async def sismember(self, key: str, member: str) -> bool:
        return member in (self._store.set_of(self._k(key)) or ())

    # -------------------------------------------------------------------------------------- sorted sets

    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int:
        store, k = self._store, self._k(key)
        store.prune()
        current = store.zset(k)
        if not mapping:
            return 0
        if current is None:
            current = {}
            store.values[k] = current
        added = sum(1 for member in mapping if member not in current)
        current.update({member: float(score) for member, score in mapping.items()})
        return added

    async def zrem(self, key: str, *members: str) -> int:
        store, k = self._store, self._k(key)
        current = store.zset(k)
        if current is None:
            return 0
        removed = sum(1 for member in members if current.pop(member, None) is not None)
        if not current:
            store.remove(k)
        return removed

    async def zscore(self, key: str, member: str) -> float | None:
        return (self._store.zset(self._k(key)) or {}).get(member)

    async def zrange_by_score(
        self,
        key: str,
        minimum: float = float("-inf"),
        maximum: float = float("inf"),
        *,
        limit: int | None = None,
    ) -> list[tuple[str, float]]:
        if limit is not None and limit < 0:
            raise ValueError(f"limit must not be negative, got {limit}")
        current = self._store.zset(self._k(key)) or {}
        # Ties are ordered by member, as Redis orders them (bytewise UTF-8 equals code point order).
        found = sorted(
            ((member, score) for member, score in current.items() if minimum <= score <= maximum),
            key=lambda item: (item[1], item[0]),
        )
        return found if limit is None else found[:limit]

    async def zremrange_by_score(self, key: str, minimum: float, maximum: float) -> int:
        store, k = self._store, self._k(key)
        current = store.zset(k)
        if current is None:
            return 0
        doomed = [member for member, score in current.items() if minimum <= score <= maximum]
        for member in doomed:
            del current[member]
        if not current:
            store.remove(k)
        return len(doomed)

    async def zcard(self, key: str) -> int:
        return len(self._store.zset(self._k(key)) or ())
