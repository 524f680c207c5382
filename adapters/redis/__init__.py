"""Redis adapters: key-value store, pub/sub and an event bus on Redis Streams.

``redis://`` and ``rediss://`` (TLS, as ElastiCache in transit encryption requires) with the usual URL
parts: ``rediss://:password@host:6379/2``.
"""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl

SCHEMES = ("redis", "rediss")


def _keyvalue(context: AdapterContext) -> Resource:
    from wealist_adapters.redis.keyvalue import RedisKeyValue

    return RedisKeyValue.from_context(context)


def _pubsub(context: AdapterContext) -> Resource:
    from wealist_adapters.redis.pubsub import RedisPubSub

    return RedisPubSub.from_context(context)


def _eventbus(context: AdapterContext) -> Resource:
    from wealist_adapters.redis.eventbus import RedisEventBus

    return RedisEventBus.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [
        AdapterSpec("keyvalue", SCHEMES, _keyvalue, "RedisKeyValue"),
        AdapterSpec("pubsub", SCHEMES, _pubsub, "RedisPubSub"),
        AdapterSpec("eventbus", SCHEMES, _eventbus, "RedisEventBus"),
    ]
