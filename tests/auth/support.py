"""What the auth tests share: a Directory provider, app builders and small HTTP helpers."""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import httpx
import wealist_adapters.local_files
import wealist_adapters.memory
import wealist_adapters.postgres
import wealist_adapters.redis
import wealist_adapters.sqlite
from starlette.applications import Starlette
from wealist_plugins.auth.plugin import AuthPlugin
from wealist_plugins.auth.verifier import TokenVerifierPlugin
from wealist_plugins.user.contract import Directory, MemberProfile, Membership, UserInfo
from wealist_plugins.user.plugin import UserPlugin

from tests.plugins.whoami import WhoAmIPlugin
from wealist_core import Conflict, PluginManifest, Settings, hookimpl
from wealist_core.app import create_app
from wealist_core.container import Container

ADAPTERS: Sequence[object] = (
    wealist_adapters.local_files,
    wealist_adapters.memory,
    wealist_adapters.sqlite,
    wealist_adapters.postgres,
    wealist_adapters.redis,
)
PASSWORD = "correct horse battery staple"

#: Cheap Argon2 and roomy rate limits, through settings as production code reads them.
TEST_OPTIONS: dict[str, str] = {
    "argon2_time_cost": "1",
    "argon2_memory_cost": "1024",
    "argon2_parallelism": "1",
    "rate_limit_login_ip": "1000/60",
    "rate_limit_login_account": "1000/60",
    "rate_limit_signup_ip": "1000/60",
    "rate_limit_signup_account": "1000/60",
    "rate_limit_refresh_ip": "1000/60",
    "rate_limit_refresh_account": "1000/60",
}


class FakeDirectory:
    """An in-memory ``user.Directory`` whose users a test can place, with any creation time (the real
    user plugin stamps its own): for the tests of sign-up meeting users it did not create."""

    def __init__(self) -> None:
        self.users: dict[uuid.UUID, UserInfo] = {}
        self.fail_next_create = False

    async def create_user(self, user_id: uuid.UUID, email: str, name: str, locale: str = "ko") -> UserInfo:
        email = email.strip().lower()
        if any(u.email == email for u in self.users.values()):
            raise Conflict("The email is taken.", code="EMAIL_TAKEN")
        info = UserInfo(
            user_id=user_id, email=email, name=name, locale=locale, created_at=dt.datetime.now(dt.UTC)
        )
        self.users[user_id] = info
        return info

    async def find_user_by_email(self, email: str) -> UserInfo | None:
        email = email.strip().lower()
        return next((u for u in self.users.values() if u.email == email), None)

    async def get_users(self, user_ids: list[uuid.UUID]) -> list[UserInfo]:
        return [self.users[i] for i in user_ids if i in self.users]

    async def membership(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> Membership | None:
        return None

    async def members(self, workspace_id: uuid.UUID) -> list[Membership]:
        return []

    async def user_workspaces(self, user_id: uuid.UUID) -> list[Membership]:
        return []

    async def member_profiles(
        self, workspace_id: uuid.UUID, user_ids: list[uuid.UUID]
    ) -> list[MemberProfile]:
        return []


class FakeUserPlugin:
    """Provides ``user.Directory`` from a :class:`FakeDirectory`."""

    def __init__(self) -> None:
        self.directory = FakeDirectory()

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="user", provides=("user.Directory",))

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        container.contracts.provide(Directory, self.directory)


def settings_for(settings_factory: Any, backend: dict[str, Any], **options: str) -> Settings:
    """Test settings on ``backend`` with auth options ``options`` (over :data:`TEST_OPTIONS`)."""
    values = dict(backend)
    overrides = {"auth": {**TEST_OPTIONS, **{k.lower(): v for k, v in options.items()}}}
    return settings_factory(**values, overrides=overrides)


def monolith(settings: Settings, *extra: object, user: object = UserPlugin) -> Starlette:
    """The user and auth plugins, the verifier and the whoami toy in one application."""
    return create_app(
        settings,
        plugins=[user, AuthPlugin, TokenVerifierPlugin, WhoAmIPlugin, *extra],
        adapters=ADAPTERS,
    )


def auth_plugin(app: Starlette) -> AuthPlugin:
    plugin = app.state.wealist.host.active["auth"].obj
    assert isinstance(plugin, AuthPlugin)
    return plugin


def directory(app: Starlette) -> Directory:
    """The user plugin's ``Directory``, as auth sees it."""
    found: Directory = app.state.wealist.container.contracts.get(Directory)
    return found


def fake_directory(app: Starlette) -> FakeDirectory:
    plugin = app.state.wealist.host.active["user"].obj
    assert isinstance(plugin, FakeUserPlugin)
    return plugin.directory


@contextlib.asynccontextmanager
async def running(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The application started (lifespan entered) and an HTTP client talking to it in process."""
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


def unique_email(prefix: str = "ada") -> str:
    return f"{prefix}.{uuid.uuid4().hex[:10]}@example.com"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def signup(
    client: httpx.AsyncClient, email: str | None = None, password: str = PASSWORD, name: str = "Ada Lovelace"
) -> dict[str, Any]:
    response = await client.post(
        "/api/auth/signup", json={"email": email or unique_email(), "password": password, "name": name}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, **extra: Any
) -> httpx.Response:
    return await client.post("/api/auth/login", json={"email": email, "password": password, **extra})


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["code"] == code, body
    return body
