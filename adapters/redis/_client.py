"""Building and probing a redis.asyncio client from a Wealist URL, for every Redis adapter.

The URL carries everything, as redis-py reads it: ``redis://`` or ``rediss://`` (TLS, as ElastiCache with
in-transit encryption requires), ``user:password@``, the database number as the path, and connection or
TLS options as query parameters, e.g.
``rediss://:secret@cache.example.com:6379/2?ssl_cert_reqs=required&ssl_ca_certs=/etc/ssl/ca.pem``.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from wealist_core import AdapterUnavailable
from wealist_core.outages import is_connection_failure
from wealist_core.settings import mask_url

__all__ = ["is_redis_outage", "make_client", "ping_or_unavailable"]


def is_redis_outage(exc: BaseException) -> bool:
    """Redis cannot be reached: refused, lost, timed out, or still loading its data after a restart."""
    return isinstance(exc, (RedisConnectionError, RedisTimeoutError)) or is_connection_failure(exc)


# Fail start-up within seconds when the host is unreachable (a firewall drops packets rather than
# refusing them). A command whose pooled connection turns out dead (Redis restarted, a failover) is sent
# once more on a new connection, so the first request after a restart is not an error. The URL's own
# query parameters take precedence over these.
def _defaults() -> dict[str, Any]:
    return {
        "socket_connect_timeout": 5.0,
        "socket_keepalive": True,
        "retry": Retry(NoBackoff(), 1),  # one per pool: redis-py updates it in place
        "retry_on_error": [RedisConnectionError],
    }


def make_client(url: str, *, decode_responses: bool, **options: Any) -> aioredis.Redis:
    """A client owning its own connection pool (closed by ``client.aclose()``); no I/O happens yet.

    ``options`` go to redis-py's connection (e.g. ``ssl_ca_certs`` or ``ssl_cert_reqs`` given in code);
    options in the URL's query string win over them.
    """
    pool = aioredis.ConnectionPool.from_url(
        url, **{**_defaults(), "decode_responses": decode_responses, **options}
    )
    return aioredis.Redis.from_pool(pool)


async def ping_or_unavailable(client: aioredis.Redis, url: str, setting: str) -> None:
    """PING the server; raise :class:`AdapterUnavailable` with one actionable sentence when it fails."""
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        reason = str(exc).strip().rstrip(".") or type(exc).__name__
        raise AdapterUnavailable(
            f"{setting} is {mask_url(url)}, but Redis cannot be reached there ({reason}); start Redis or "
            f"set {setting} to the URL of a running server."
        ) from exc
