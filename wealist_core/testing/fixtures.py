"""The pytest fixtures of :mod:`wealist_core.testing` (``pytest_plugins = ["wealist_core.testing"]``).

A test names its plugins by overriding :func:`wealist_plugins`; everything else has a default:

- ``wealist_backend``: ``"embedded"`` (SQLite file in the test's folder, ``memory://``, local files), or
  ``"real"`` (PostgreSQL + Redis) when parametrised, e.g. with :data:`on_both_backends`;
- ``wealist_settings`` / ``wealist_settings_factory``: hermetic settings on that backend;
- ``wealist_app``: the application, its lifespan running; ``wealist_client``: an ``httpx.AsyncClient`` on it;
- ``wealist_events``: the :class:`EventRecorder` of every event the named plugins publish;
- ``wealist_postgres_url`` (one database per session, emptied before each test), ``wealist_redis_url``
  (flushed before each test), ``wealist_postgres_admin_url``.

Every async fixture is a ``pytest_asyncio`` fixture, so the plugin works in pytest-asyncio's strict and auto
modes alike.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from starlette.applications import Starlette

from wealist_core.settings import Settings
from wealist_core.testing._servers import (
    POSTGRES_ADMIN_URL,
    REDIS_TEST_URL,
    create_database,
    drop_database,
    empty_database,
    flush_redis,
    require_server,
)
from wealist_core.testing.apps import build_app, client_for, installed_adapters, plugin_named
from wealist_core.testing.events import EventRecorder
from wealist_core.testing.settings import (
    BACKENDS,
    hermetic_settings,
    real_infrastructure,
    shared_s3_endpoint,
)

__all__ = [
    "on_both_backends",
    "wealist_adapters",
    "wealist_app",
    "wealist_backend",
    "wealist_client",
    "wealist_events",
    "wealist_infrastructure",
    "wealist_plugins",
    "wealist_postgres_admin_url",
    "wealist_postgres_database",
    "wealist_postgres_url",
    "wealist_redis_url",
    "wealist_s3_endpoint",
    "wealist_settings",
    "wealist_settings_factory",
]

#: Runs a test (or, as ``pytestmark``, a module) once per backend: ``@on_both_backends``.
on_both_backends = pytest.mark.parametrize("wealist_backend", BACKENDS, indirect=True)


# ---------------------------------------------------------------------------------------------- servers


@pytest.fixture(scope="session")
def wealist_postgres_admin_url() -> str:
    """The PostgreSQL server's maintenance database (``WEALIST_TEST_POSTGRES_URL``), for asyncpg."""
    require_server("PostgreSQL", POSTGRES_ADMIN_URL, 5432)
    return POSTGRES_ADMIN_URL


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def wealist_postgres_database(wealist_postgres_admin_url: str) -> AsyncIterator[str]:
    """One database for the session (a SQLAlchemy asyncpg URL), migrated by the first application on it."""
    url = await create_database(wealist_postgres_admin_url)
    yield url
    await drop_database(wealist_postgres_admin_url, url)


@pytest_asyncio.fixture
async def wealist_postgres_url(wealist_postgres_database: str) -> str:
    """The session's database with every table emptied, its schema kept: as good as a new one."""
    await empty_database(wealist_postgres_database)
    return wealist_postgres_database


@pytest_asyncio.fixture
async def wealist_redis_url() -> str:
    """The test Redis database (``WEALIST_TEST_REDIS_URL``, number 15 by default), flushed first."""
    require_server("Redis", REDIS_TEST_URL, 6379)
    await flush_redis(REDIS_TEST_URL)
    return REDIS_TEST_URL


@pytest.fixture(scope="session")
def wealist_s3_endpoint() -> Iterator[str]:
    """An S3 server over HTTP for the whole run (moto's, started on a free port, or
    ``WEALIST_TEST_S3_ENDPOINT``); give each test its own bucket with ``s3_bucket_url(endpoint)``."""
    yield shared_s3_endpoint()


# --------------------------------------------------------------------------------------------- settings


@pytest.fixture
def wealist_backend(request: pytest.FixtureRequest) -> str:
    """``"embedded"``, or the backend the test is parametrised with (``indirect=True``)."""
    backend = str(getattr(request, "param", "embedded"))
    if backend not in BACKENDS:
        raise ValueError(f"wealist_backend is one of {BACKENDS}, not {backend!r}")
    return backend


@pytest.fixture
def wealist_infrastructure(wealist_backend: str, request: pytest.FixtureRequest) -> dict[str, Any]:
    """The settings values of the backend: none for the embedded defaults, the servers' URLs for real."""
    if wealist_backend == "embedded":
        return {}
    return real_infrastructure(
        request.getfixturevalue("wealist_postgres_url"), request.getfixturevalue("wealist_redis_url")
    )


@pytest.fixture
def wealist_settings_factory(
    tmp_path: Path, wealist_infrastructure: dict[str, Any]
) -> Callable[..., Settings]:
    """``make(**values)``: hermetic settings on the test's backend in a fresh data directory."""

    def make(**values: Any) -> Settings:
        return hermetic_settings(tmp_path / "data", **{**wealist_infrastructure, **values})

    return make


@pytest.fixture
def wealist_settings(wealist_settings_factory: Callable[..., Settings]) -> Settings:
    """The settings ``wealist_app`` is built with; override to add options (see ``with_options``)."""
    return wealist_settings_factory()


# -------------------------------------------------------------------------------------------------- app


@pytest.fixture
def wealist_plugins() -> Sequence[object]:
    """The plugins under test: override this fixture (``return [NotesPlugin]``)."""
    pytest.fail(
        "Name the plugins under test: define a fixture `wealist_plugins` returning them, "
        "e.g. `return [NotesPlugin]`, in the test module or its conftest.py.",
        pytrace=False,
    )


@pytest.fixture
def wealist_adapters() -> list[object]:
    """The adapters of the application: every installed one (the settings choose among them)."""
    return installed_adapters()


@pytest_asyncio.fixture
async def wealist_app(
    wealist_settings: Settings, wealist_plugins: Sequence[object], wealist_adapters: list[object]
) -> AsyncIterator[Starlette]:
    """The application of ``wealist_plugins`` with the test authenticator and an event recorder, started."""
    app = build_app(wealist_settings, wealist_plugins, adapters=wealist_adapters)
    async with app.router.lifespan_context(app):
        yield app


@pytest_asyncio.fixture
async def wealist_client(wealist_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """An ``httpx.AsyncClient`` talking to ``wealist_app`` in process."""
    async with client_for(wealist_app) as client:
        yield client


@pytest.fixture
def wealist_events(wealist_app: Starlette) -> EventRecorder:
    """The recorder of every event the plugins of ``wealist_app`` publish."""
    recorder = plugin_named(wealist_app, "test_events")
    assert isinstance(recorder, EventRecorder)
    return recorder
