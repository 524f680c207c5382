"""Shared fixtures: real servers for the contract suites.

PostgreSQL and Redis are the machine's (``make test`` starts them when they are not running). Where a
server cannot be reached a test skips on a developer's machine and **fails** under ``CI=true``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from wealist_core.testing import create_database, drop_database, hermetic_settings, require_server

# The toolkit's fixtures (wealist_app, wealist_client, wealist_events, ...), as plugin authors use them.
pytest_plugins = ["wealist_core.testing"]

__all__ = ["require_server"]


@pytest.fixture(scope="session")
def postgres_admin_url(wealist_postgres_admin_url: str) -> str:
    return wealist_postgres_admin_url


@pytest.fixture
async def postgres_url(postgres_admin_url: str) -> AsyncIterator[str]:
    """A new, empty PostgreSQL database for one test, as a SQLAlchemy asyncpg URL; dropped afterwards."""
    url = await create_database(postgres_admin_url)
    yield url
    await drop_database(postgres_admin_url, url)


@pytest.fixture
def redis_url(wealist_redis_url: str) -> str:
    """The test Redis database (number 15 unless WEALIST_TEST_REDIS_URL says otherwise), emptied first."""
    return wealist_redis_url


@pytest.fixture
def settings_factory(tmp_path):  # type: ignore[no-untyped-def]
    """Hermetic settings in a fresh data directory: no entry-point autoloading, cheap secrets."""

    def make(**values: object):  # type: ignore[no-untyped-def]
        return hermetic_settings(tmp_path / "data", **values)

    return make
