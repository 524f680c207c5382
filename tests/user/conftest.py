"""Fixtures of the user plugin's tests: an application on both backends, people and their tokens.

Every test runs twice: on the embedded defaults (SQLite file, ``memory://``) and on PostgreSQL + Redis (one
database per session, emptied before each test; Redis database 15, flushed before each test).
Until a test needs real sign-up, people are created through the ``Directory`` contract and authenticated
by :class:`ToyAuthPlugin` (``Authorization: Bearer test:<user id>``), so these tests do not depend on the
auth plugin.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import wealist_adapters.local_files
import wealist_adapters.memory
import wealist_adapters.postgres
import wealist_adapters.redis
import wealist_adapters.sqlite
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from wealist_plugins.user.contract import Directory
from wealist_plugins.user.plugin import UserPlugin

from wealist_core import Event, PluginManifest, Principal, Settings, Unauthorized, hookimpl
from wealist_core.app import create_app

ADAPTERS = [
    wealist_adapters.memory,
    wealist_adapters.sqlite,
    wealist_adapters.postgres,
    wealist_adapters.redis,
    wealist_adapters.local_files,
]
TOKEN_PREFIX = "Bearer test:"


class ToyAuthPlugin:
    """Test-only authentication: ``Bearer test:<uuid>`` is that user. It also records every event the user
    plugin publishes, through the event bus like any consumer."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="toyauth", ports=("eventbus",), needs=("user.Directory",), consumes=("user.*",)
        )

    @hookimpl
    def wealist_authenticate(self, request: HTTPConnection) -> Principal | None:
        header = request.headers.get("authorization", "")
        if not header.startswith(TOKEN_PREFIX):
            return None
        try:
            return Principal(id=str(uuid.UUID(header[len(TOKEN_PREFIX) :])))
        except ValueError:
            raise Unauthorized("Not a test token.") from None

    @hookimpl
    def wealist_register_subscriptions(self) -> list[tuple[str, Any]]:
        async def record(event: Event) -> None:
            self.events.append(event)

        return [("user.*", record)]


@pytest.fixture(params=["embedded", "real"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
async def user_test_database(postgres_admin_url: str) -> AsyncIterator[str]:
    """One PostgreSQL database for the session, migrated by the first application that starts on it."""
    import asyncpg

    name = f"wealist_user_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    yield name
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


@pytest.fixture
async def empty_postgres_url(postgres_admin_url: str, user_test_database: str) -> str:
    """The session's database with every table emptied (its schema kept): as good as a new database for a
    test, at a fraction of the cost of creating one per test."""
    import asyncpg

    parts = urlsplit(postgres_admin_url)
    conn = await asyncpg.connect(urlunsplit(parts._replace(path=f"/{user_test_database}")))
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
    return f"postgresql+asyncpg://{parts.netloc}/{user_test_database}"


@pytest.fixture
def user_settings(
    backend: str, settings_factory: Callable[..., Settings], request: pytest.FixtureRequest
) -> Settings:
    if backend == "embedded":
        return settings_factory()
    postgres = request.getfixturevalue("empty_postgres_url")
    redis = request.getfixturevalue("redis_url")
    return settings_factory(
        database_url=postgres, keyvalue_url=redis, pubsub_url=redis, eventbus_url=redis, auto_migrate=True
    )


@pytest.fixture
async def app(user_settings: Settings) -> AsyncIterator[Starlette]:
    application = create_app(user_settings, plugins=[UserPlugin, ToyAuthPlugin()], adapters=ADAPTERS)
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        yield http


@dataclass(frozen=True)
class Person:
    id: uuid.UUID
    email: str
    name: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"{TOKEN_PREFIX}{self.id}"}


class World:
    """People and workspaces made through the API, and what the plugin sent out (events, mail)."""

    def __init__(self, app: Starlette, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self.container = app.state.wealist.container
        self.directory: Directory = self.container.contracts.get(Directory)

    async def person(self, name: str = "Ada", email: str | None = None) -> Person:
        user_id = uuid.uuid4()
        email = email or f"{name.lower().replace(' ', '.')}.{user_id.hex[:8]}@example.com"
        info = await self.directory.create_user(user_id, email, name)
        return Person(info.user_id, info.email, info.name)

    async def workspace(self, owner: Person, name: str = "Apollo", **settings: Any) -> dict[str, Any]:
        answer = await self.client.post(
            "/api/workspaces", headers=owner.headers, json={"name": name, **settings}
        )
        assert answer.status_code == 201, answer.text
        return dict(answer.json())

    async def add(self, workspace: dict[str, Any], by: Person, person: Person, role: str = "MEMBER") -> None:
        answer = await self.client.post(
            f"/api/workspaces/{workspace['workspaceId']}/invitations",
            headers=by.headers,
            json={"email": person.email, "role": role},
        )
        assert answer.status_code == 201 and answer.json()["status"] == "ADDED", answer.text

    @property
    def mails(self) -> list[Any]:
        return list(self.container.mailer("user").outbox)

    def events(self, event_type: str) -> list[dict[str, Any]]:
        toy = self.app.state.wealist.host.active["toyauth"].obj
        return [dict(e.payload) for e in toy.events if e.type == event_type]

    async def wait_for_event(self, event_type: str, **match: Any) -> dict[str, Any]:
        """The first event of ``event_type`` whose payload has ``match``; fails after 5 s."""
        async with asyncio.timeout(5):
            while True:
                for payload in self.events(event_type):
                    if all(payload.get(k) == v for k, v in match.items()):
                        return payload
                await asyncio.sleep(0.02)


@pytest.fixture
def world(app: Starlette, client: httpx.AsyncClient) -> World:
    return World(app, client)
