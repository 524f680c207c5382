"""Fixtures of the auth tests: every test runs on the embedded defaults and on PostgreSQL + Redis (the
toolkit's session database, emptied before each test, and the test Redis database, flushed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.auth.support import monolith, running, settings_for
from wealist_core.testing import BACKENDS


@pytest.fixture(params=BACKENDS)
def wealist_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def backend(wealist_infrastructure: dict[str, Any]) -> dict[str, Any]:
    """Settings choosing the infrastructure: none (SQLite + memory://), or PostgreSQL + Redis (migrated at
    start)."""
    return wealist_infrastructure


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
