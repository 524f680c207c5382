"""Fixtures of the auth tests: every test runs on the embedded defaults and on PostgreSQL + Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import monolith, running, settings_for


@pytest.fixture(params=["embedded", "real"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """Settings choosing the infrastructure: SQLite + memory://, or PostgreSQL + Redis (migrated at start)."""
    if request.param == "embedded":
        return {}
    postgres = request.getfixturevalue("postgres_url")
    redis = request.getfixturevalue("redis_url")
    return {
        "database_url": postgres,
        "keyvalue_url": redis,
        "pubsub_url": redis,
        "eventbus_url": redis,
        "auto_migrate": True,
    }


@pytest.fixture
def app(settings_factory: Any, backend: dict[str, Any]) -> Starlette:
    return monolith(settings_for(settings_factory, backend))


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


@pytest.fixture
def local_app(settings_factory: Any) -> Starlette:
    """Embedded only: for rules that do not touch the infrastructure (input validation, password rules)."""
    return monolith(settings_for(settings_factory, {}))


@pytest.fixture
async def local_client(local_app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(local_app) as client:
        yield client
