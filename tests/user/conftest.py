"""Fixtures of the user plugin's tests, on the toolkit of :mod:`wealist_core.testing`.

Every test runs twice: on the embedded defaults (SQLite file, ``memory://``) and on PostgreSQL + Redis (one
database per session, emptied before each test; the test Redis database, flushed before each test). People
are created through the ``Directory`` contract and authenticated with test tokens
(``Authorization: Bearer test:<user id>``), so these tests do not depend on the auth plugin.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from wealist_plugins.user.plugin import UserPlugin
from wealist_plugins.user.testing import Community, Person

from wealist_core import Settings
from wealist_core.testing import BACKENDS, installed_adapters

__all__ = ["ADAPTERS", "Person", "World"]

#: Every installed adapter, for the tests that build an application of their own.
ADAPTERS = installed_adapters()
#: The people and workspaces of a test, and what the plugin sent out.
World = Community


@pytest.fixture(params=BACKENDS)
def wealist_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def wealist_plugins() -> list[object]:
    return [UserPlugin]


@pytest.fixture
def user_settings(wealist_settings: Settings) -> Settings:
    return wealist_settings


@pytest.fixture
def app(wealist_app: Starlette) -> Starlette:
    return wealist_app


@pytest.fixture
def client(wealist_client: httpx.AsyncClient) -> httpx.AsyncClient:
    return wealist_client


@pytest.fixture
def world(app: Starlette, client: httpx.AsyncClient) -> World:
    return World(app, client)
