"""``redis://`` and ``rediss://`` key-value store on redis.asyncio.

One connection pool per adapter, built from the URL (see :mod:`wealist_adapters.redis._client`);
namespaces are views sharing it. Redis's own errors are translated to the ones the in-process store
raises, so callers see one behaviour: a wrong-type access raises ``TypeError``, incrementing a
non-integer raises ``ValueError``.
"""

from __future__ import annotations

import builtins
import contextlib
import copy
import math
from collections.abc import Iterator, Mapping
from typing import Any, cast

import redis.asyncio as aioredis
from redis.exceptions import ResponseError
from wealist_adapters.redis._client import is_redis_outage, make_client, ping_or_unavailable

from wealist_core import AdapterContext, KeyValue
from wealist_core.outages import translating_methods

__all__ = ["RedisKeyValue"]

_DEFAULT_SETTING = "WEALIST_KEYVALUE_URL"


def _ms(ttl: float) -> int:
    # Redis expiries are whole milliseconds; round up so a tiny positive TTL never becomes "no expiry".
    return max(1, math.ceil(ttl * 1000))


def _bound(value: float) -> str | float:
    if value == math.inf:
        return "+inf"
    if value == -math.inf:
        return "-inf"
    return value


def _check_ttl(ttl: float | None) -> None:
    if ttl is not None and ttl <= 0:
        raise ValueError(f"ttl must be positive, got {ttl}")


@contextlib.contextmanager
def _same_errors_as_memory() -> Iterator[None]:
    try:
        yield
    except ResponseError as exc:
        text = str(exc)
        if text.startswith("WRONGTYPE"):
            raise TypeError(text) from exc
        if "not an integer" in text:
            raise ValueError(text) from exc
        raise


@translating_methods("keyvalue", is_redis_outage, skip=("start", "check", "close"))
class RedisKeyValue(KeyValue):
    """:class:`KeyValue` on Redis (or ElastiCache / Valkey): shared across every process of a deployment.

    While Redis cannot be reached, every operation raises ``DependencyUnavailable("keyvalue")`` (503).
    """

    def __init__(self, client: aioredis.Redis, *, url: str, setting: str = _DEFAULT_SETTING) -> None:
        self._client = client
        self._url = url
        self._setting = setting
        self._prefix = ""
        self._owns_client = True

    @classmethod
    def from_url(cls, url: str, *, setting: str = _DEFAULT_SETTING, **options: Any) -> RedisKeyValue:
        """Build from a URL; ``options`` (e.g. TLS settings) go to redis-py's connection."""
        return cls(make_client(url, decode_responses=True, **options), url=url, setting=setting)

    @classmethod
    def from_context(cls, context: AdapterContext) -> RedisKeyValue:
        return cls.from_url(context.url, setting=context.setting)

    def namespace(self, prefix: str) -> RedisKeyValue:
        view = copy.copy(self)  # same client and pool
        view._prefix = self._prefix + prefix
        view._owns_client = False  # the store that made the view opens and closes the connections
        return view

    def _k(self, key: str) -> str:
        return self._prefix + key

    # -------------------------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        await ping_or_unavailable(self._client, self._url, self._setting)

    async def check(self) -> None:
        await self._client.ping()

    async def close(self) -> None:
        if self._owns_client:
            await self._client.aclose()

    # ------------------------------------------------------------------------------------------ strings

    async def get(self, key: str) -> str | None:
        with _same_errors_as_memory():
            return cast("str | None", await self._client.get(self._k(key)))

    async def set(
        self, key: str, value: str | bytes, *, ttl: float | None = None, only_if_absent: bool = False
    ) -> bool:
        _check_ttl(ttl)
        stored = await self._client.set(
            self._k(key), value, px=None if ttl is None else _ms(ttl), nx=only_if_absent
        )
        return bool(stored)

    async def delete(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self._client.delete(*(self._k(key) for key in keys)))

    async def exists(self, key: str) -> bool:
        return bool(await self._client.exists(self._k(key)))

    async def count_existing(self, *keys: str) -> int:
        if not keys:
            return 0
        return int(await self._client.exists(*(self._k(key) for key in keys)))

    async def expire(self, key: str, ttl: float) -> bool:
        # A non-positive expiry deletes the key (Redis's rule, which the in-process store follows).
        return bool(await self._client.pexpire(self._k(key), _ms(ttl) if ttl > 0 else 0))

    async def ttl(self, key: str) -> float | None:
        remaining = int(await self._client.pttl(self._k(key)))
        return None if remaining < 0 else remaining / 1000  # -2: no key, -1: no expiry

    async def incr(self, key: str, amount: int = 1, *, ttl: float | None = None) -> int:
        _check_ttl(ttl)
        k = self._k(key)
        with _same_errors_as_memory():
            if ttl is None:
                return int(await self._client.incrby(k, amount))
            # Atomically: create the counter at 0 with its expiry only if it is missing, then add.
            # Two processes racing on a new key both see the expiry set exactly once.
            async with self._client.pipeline(transaction=True) as pipe:
                pipe.set(k, 0, nx=True, px=_ms(ttl))
                pipe.incrby(k, amount)
                _, result = await pipe.execute()
            return int(result)

    # --------------------------------------------------------------------------------------------- sets

    async def sadd(self, key: str, *members: str) -> int:
        if not members:
            return 0
        with _same_errors_as_memory():
            return int(await self._client.sadd(self._k(key), *members))

    async def srem(self, key: str, *members: str) -> int:
        if not members:
            return 0
        with _same_errors_as_memory():
            return int(await self._client.srem(self._k(key), *members))

    async def smembers(self, key: str) -> builtins.set[str]:  # `set` is a method here
        with _same_errors_as_memory():
            return set(cast("set[str]", await self._client.smembers(self._k(key))))

    async def sismember(self, key: str, member: str) -> bool:
        with _same_errors_as_memory():
            return bool(await self._client.sismember(self._k(key), member))

    # -------------------------------------------------------------------------------------- sorted sets

    async def zadd(self, key: str, mapping: Mapping[str, float]) -> int:
        if not mapping:
            return 0
        with _same_errors_as_memory():
            return int(cast(int, await self._client.zadd(self._k(key), dict(mapping))))

    async def zrem(self, key: str, *members: str) -> int:
        if not members:
            return 0
        with _same_errors_as_memory():
            return int(await self._client.zrem(self._k(key), *members))

    async def zscore(self, key: str, member: str) -> float | None:
        with _same_errors_as_memory():
            score = await self._client.zscore(self._k(key), member)
        return None if score is None else float(score)

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
        if limit == 0:
            return []
        page: dict[str, Any] = {} if limit is None else {"start": 0, "num": limit}
        with _same_errors_as_memory():
            found = await self._client.zrangebyscore(
                self._k(key), _bound(minimum), _bound(maximum), withscores=True, **page
            )
        return [(str(member), float(score)) for member, score in cast("list[tuple[str, float]]", found)]

    async def zremrange_by_score(self, key: str, minimum: float, maximum: float) -> int:
        with _same_errors_as_memory():
            return int(await self._client.zremrangebyscore(self._k(key), _bound(minimum), _bound(maximum)))

    async def zcard(self, key: str) -> int:
        with _same_errors_as_memory():
            return int(await self._client.zcard(self._k(key)))
