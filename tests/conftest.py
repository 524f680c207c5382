"""Shared fixtures: real servers for the contract suites.

PostgreSQL and Redis are the machine's (``make test`` starts them when they are not running). Where a
server cannot be reached a test skips on a developer's machine and **fails** under ``CI=true``.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import pytest

POSTGRES_ADMIN_URL = os.environ.get(
    "WEALIST_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/postgres"
)
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
    message = f"{name} is not reachable at {url}; `make test` starts it"
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(message, pytrace=False)
    pytest.skip(message)


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    require_server("PostgreSQL", POSTGRES_ADMIN_URL, 5432)
    return POSTGRES_ADMIN_URL


async def _admin(admin_url: str, statement: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, as a SQLAlchemy asyncpg URL; dropped afterwards."""
    name = f"wealist_test_{uuid.uuid4().hex[:12]}"
    await _admin(postgres_admin_url, f'CREATE DATABASE "{name}"')
    parts = urlsplit(postgres_admin_url)
    yield f"postgresql+asyncpg://{parts.netloc}/{name}"
    await _admin(postgres_admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    """The test Redis database (number 15 unless WEALIST_TEST_REDIS_URL says otherwise), emptied first."""
    require_server("Redis", REDIS_TEST_URL, 6379)
    import redis.asyncio as aioredis

    client = aioredis.from_url(REDIS_TEST_URL)
    await client.flushdb()
    await client.aclose()
    yield REDIS_TEST_URL


@pytest.fixture
def settings_factory(tmp_path):  # type: ignore[no-untyped-def]
    """Hermetic settings in a fresh data directory: no entry-point autoloading, cheap secrets."""
    from wealist_core import Settings

    def make(**values: object) -> Settings:
        base: dict[str, object] = {
            "data_dir": tmp_path / "data",
            "autoload": False,
            "environment": "test",
            "service_token": "test-service-token",
            "secret_key": "test-secret-key",
            "log_format": "text",
        }
        base.update(values)
        return Settings.load({}, **base)

    return make
