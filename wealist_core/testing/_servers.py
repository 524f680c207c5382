"""PostgreSQL and Redis for tests: reachability, throwaway databases, emptying what a test left behind.

Where a server cannot be reached a test skips on a developer's machine and **fails** under ``CI=true``, so a
CI job without its servers can never pass by skipping.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Callable
from urllib.parse import urlsplit, urlunsplit

import pytest

__all__ = [
    "POSTGRES_ADMIN_URL",
    "REDIS_TEST_URL",
    "create_database",
    "drop_database",
    "empty_database",
    "flush_redis",
    "require_server",
    "s3_bucket_url",
    "start_s3_server",
]

#: The server's maintenance database, as asyncpg takes it (``WEALIST_TEST_POSTGRES_URL``).
POSTGRES_ADMIN_URL = os.environ.get(
    "WEALIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
#: The Redis database tests may flush (``WEALIST_TEST_REDIS_URL``, database 15 by default).
REDIS_TEST_URL = os.environ.get("WEALIST_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _reachable(url: str, default_port: int) -> bool:
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or default_port), timeout=1):
            return True
    except OSError:
        return False


def require_server(name: str, url: str, default_port: int) -> None:
    """Fail under CI, skip elsewhere, when a server the test needs is not reachable."""
    if _reachable(url, default_port):
        return
    message = f"{name} is not reachable at {url}; start it or point WEALIST_TEST_* at one"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


async def create_database(admin_url: str, prefix: str = "wealist_test") -> str:
    """A new, empty database on the server of ``admin_url``; its SQLAlchemy asyncpg URL."""
    name = f"{prefix}_{uuid.uuid4().hex[:12]}"
    await _admin(admin_url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(admin_url)
    return f"postgresql+asyncpg://{parts.netloc}/{name}"


async def drop_database(admin_url: str, database_url: str) -> None:
    """Drop the database of ``database_url``, closing whatever a test left connected to it."""
    name = urlsplit(database_url).path.lstrip("/")
    await _admin(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def empty_database(database_url: str) -> None:
    """Empty every table but the migration version tables: the schema stays, so the next application on
    this database starts as on a new one, at a fraction of the cost of creating a database per test."""
    import asyncpg

    parts = urlsplit(database_url)
    conn = await asyncpg.connect(urlunsplit(parts._replace(scheme="postgresql")))
    try:
        tables = await conn.fetch(
            "SELECT tablename FROM pg_tables"
            " WHERE schemaname = 'public' AND tablename NOT LIKE '%alembic_version'"
        )
        if tables:
            names = ", ".join(f'"{row[0]}"' for row in tables)
            await conn.execute(f"TRUNCATE {names} RESTART IDENTITY CASCADE")
    finally:
        await conn.close()


async def flush_redis(url: str) -> None:
    """Empty the Redis database of ``url`` (only that database number)."""
    import redis.asyncio as aioredis

    client = aioredis.from_url(url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()


# ----------------------------------------------------------------------------------------------- S3 (moto)


def start_s3_server() -> tuple[str, Callable[[], None]]:
    """An S3 server (moto's, over HTTP on a free local port) in this process: its endpoint and a stop.

    moto answers the S3 API as AWS does but checks no signature and no expiry; tests of those rules check the
    presigned URLs' parameters themselves. ``WEALIST_TEST_S3_ENDPOINT`` names an outside server (MinIO)
    to use instead; then nothing is started.
    """
    outside = os.environ.get("WEALIST_TEST_S3_ENDPOINT")
    if outside:
        return outside.rstrip("/"), lambda: None
    from moto.server import ThreadedMotoServer

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return f"http://127.0.0.1:{port}", server.stop


def s3_bucket_url(endpoint: str) -> str:
    """A ``WEALIST_BLOBSTORE_URL`` for a new, uniquely named bucket on the S3 server at ``endpoint``."""
    access = os.environ.get("WEALIST_TEST_S3_ACCESS_KEY", "wealist-test")
    secret = os.environ.get("WEALIST_TEST_S3_SECRET_KEY", "wealist-test-secret")
    return f"s3://{access}:{secret}@wealist-test-{uuid.uuid4().hex[:16]}?endpoint={endpoint}&region=us-east-1"
