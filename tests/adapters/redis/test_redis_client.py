"""How the Redis adapters read their URL: TLS, credentials, database number and options reach redis-py."""

from __future__ import annotations

import pytest
from redis.asyncio.connection import Connection, SSLConnection
from wealist_adapters.redis._client import make_client
from wealist_adapters.redis.keyvalue import RedisKeyValue
from wealist_adapters.redis.pubsub import RedisPubSub


async def test_rediss_url_gives_tls_with_credentials_db_and_ssl_options() -> None:
    client = make_client(
        "rediss://app:s%40cret@cache.example.com:6380/4?ssl_cert_reqs=required&ssl_ca_certs=/etc/ca.pem",
        decode_responses=True,
    )
    pool = client.connection_pool
    assert pool.connection_class is SSLConnection
    options = pool.connection_kwargs
    assert (options["host"], options["port"], options["db"]) == ("cache.example.com", 6380, 4)
    assert (options["username"], options["password"]) == ("app", "s@cret")
    assert (options["ssl_cert_reqs"], options["ssl_ca_certs"]) == ("required", "/etc/ca.pem")
    await client.aclose()


async def test_plain_url_options_in_code_and_url_precedence() -> None:
    client = make_client(
        "redis://127.0.0.1:6379/2?socket_connect_timeout=1.5", decode_responses=False, socket_timeout=3.0
    )
    pool = client.connection_pool
    assert pool.connection_class is Connection
    options = pool.connection_kwargs
    assert options["db"] == 2
    assert options["socket_connect_timeout"] == 1.5  # the URL wins over our default of 5 s
    assert options["socket_timeout"] == 3.0  # options given in code pass through
    assert options["decode_responses"] is False
    await client.aclose()


@pytest.mark.parametrize("adapter_class", [RedisKeyValue, RedisPubSub])
async def test_decode_responses_per_adapter(adapter_class: type[RedisKeyValue] | type[RedisPubSub]) -> None:
    adapter = adapter_class.from_url("redis://127.0.0.1:6379/0")
    decoded = adapter_class is RedisKeyValue
    assert adapter._client.connection_pool.connection_kwargs["decode_responses"] is decoded
    await adapter.close()
