"""The user plugin with the real auth plugin: sign-up, tokens verified by the verifier, invitations honoured
at sign-up, the stranger walk with real tokens, and the ``wealist demo`` command."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from wealist_plugins.user.plugin import UserPlugin

from tests.user.conftest import ADAPTERS
from tests.user.test_isolation import walk_as_stranger
from wealist_core import Settings
from wealist_core.app import create_app

auth_plugin = pytest.importorskip("wealist_plugins.auth.plugin")
verifier = pytest.importorskip("wealist_plugins.auth.verifier")

PASSWORD = "correct horse battery staple"
#: Cheap Argon2 and roomy rate limits, through the settings production reads.
AUTH_OPTIONS = {
    "argon2_time_cost": "1",
    "argon2_memory_cost": "1024",
    "argon2_parallelism": "1",
    "rate_limit_signup_ip": "1000/60",
    "rate_limit_login_ip": "1000/60",
}


def monolith(settings: Settings) -> Starlette:
    settings = settings.model_copy(update={"overrides": {**settings.overrides, "auth": AUTH_OPTIONS}})
    return create_app(
        settings,
        plugins=[UserPlugin, auth_plugin.AuthPlugin, verifier.TokenVerifierPlugin],
        adapters=ADAPTERS,
    )


@pytest.fixture
async def live(user_settings: Settings) -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    app = monolith(user_settings)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            yield app, client


async def _signup(
    client: httpx.AsyncClient, name: str, email: str | None = None
) -> tuple[str, dict[str, str]]:
    email = email or f"{name.lower()}.{uuid.uuid4().hex[:8]}@example.com"
    answer = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD, "name": name})
    assert answer.status_code == 201, answer.text
    body: dict[str, Any] = answer.json()
    return str(body["userId"]), {"Authorization": f"Bearer {body['accessToken']}"}


async def test_sign_up_then_use_the_user_plugin(live: tuple[Starlette, httpx.AsyncClient]) -> None:
    _app, client = live
    ada_id, ada = await _signup(client, "Ada", "Ada@Example.com")
    me = (await client.get("/api/users/me", headers=ada)).json()
    assert me["userId"] == ada_id and me["email"] == "ada@example.com" and me["name"] == "Ada"

    space = (await client.post("/api/workspaces", headers=ada, json={"name": "Apollo"})).json()
    invited = await client.post(
        f"/api/workspaces/{space['workspaceId']}/invitations", headers=ada, json={"email": "bob@example.com"}
    )
    assert invited.json()["status"] == "INVITED"
    bob_id, bob = await _signup(client, "Bob", "bob@example.com")
    mine = (await client.get("/api/workspaces", headers=bob)).json()["items"]
    assert [(w["workspaceId"], w["myRole"]) for w in mine] == [(space["workspaceId"], "MEMBER")]
    assert (await client.get(f"/api/users/{bob_id}", headers=ada)).status_code == 200
    # The same email twice is a 409, whatever its case.
    again = await client.post(
        "/api/auth/signup", json={"email": "BOB@example.com", "password": PASSWORD, "name": "B"}
    )
    assert again.status_code == 409
    assert (
        await client.get("/api/users/me", headers={"Authorization": "Bearer not-a-jwt"})
    ).status_code == 401


async def test_a_stranger_with_a_real_token_gets_nothing(live: tuple[Starlette, httpx.AsyncClient]) -> None:
    app, client = live
    _owner_id, owner = await _signup(client, "Bea")
    member_id, member = await _signup(client, "Ben")
    _asker_id, asker = await _signup(client, "Bo")
    space = (
        await client.post("/api/workspaces", headers=owner, json={"name": "Bravo", "isPublic": True})
    ).json()
    ws = space["workspaceId"]
    me = (await client.get("/api/users/me", headers=member)).json()
    await client.post(f"/api/workspaces/{ws}/invitations", headers=owner, json={"email": me["email"]})
    invited = await client.post(
        f"/api/workspaces/{ws}/invitations", headers=owner, json={"email": "i@example.com"}
    )
    request = await client.post(f"/api/workspaces/{ws}/join-requests", headers=asker, json={})
    await client.patch(f"/api/workspaces/{ws}", headers=owner, json={"isPublic": False})
    _stranger_id, stranger = await _signup(client, "Stranger")
    await client.post("/api/workspaces", headers=stranger, json={"name": "Alpha"})
    b = {
        "workspaceId": ws,
        "name": "Bravo",
        "userId": member_id,
        "memberId": member_id,
        "invitationId": invited.json()["invitationId"],
        "requestId": request.json()["requestId"],
        "token": "not-the-token",
    }
    await walk_as_stranger(client, app, b, stranger, "private")
    members = (await client.get(f"/api/workspaces/{ws}/members", headers=owner)).json()["items"]
    assert [m["role"] for m in members] == ["OWNER", "MEMBER"]


async def test_demo_creates_a_workspace_once(
    live: tuple[Starlette, httpx.AsyncClient], user_settings: Settings
) -> None:
    from wealist_plugins.user.demo import DEMO_EMAIL, DEMO_WORKSPACE, TEAMMATES, seed_demo

    _app, client = live
    lines: list[str] = []
    # The demo builds its own application on the same settings, as `wealist demo` does.
    assert await seed_demo(monolith(user_settings), password="demo password 123", out=lines.append) == 0
    assert any(DEMO_EMAIL in line for line in lines) and any("demo password 123" in line for line in lines)

    login = await client.post("/api/auth/login", json={"email": DEMO_EMAIL, "password": "demo password 123"})
    assert login.status_code == 200, login.text
    headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    spaces = (await client.get("/api/workspaces", headers=headers)).json()["items"]
    assert [(w["name"], w["myRole"]) for w in spaces] == [(DEMO_WORKSPACE, "OWNER")]
    members = (
        await client.get(f"/api/workspaces/{spaces[0]['workspaceId']}/members", headers=headers)
    ).json()
    assert sorted(m["name"] for m in members["items"]) == sorted(["Demo User", *(t.name for t in TEAMMATES)])
    assert {m["nickname"] for m in members["items"]} >= {"민준", "서연"}

    again: list[str] = []
    assert await seed_demo(monolith(user_settings), if_empty=True, out=again.append) == 0
    # Nothing is created again; the second run only says where the first one kept the password.
    assert len(again) == 1 and "exists already" in again[0] and "demo-credentials.txt" in again[0]
    told: list[str] = []
    assert await seed_demo(monolith(user_settings), out=told.append) == 0
    assert len(told) == 1 and told[0].startswith(
        f"The demo user {DEMO_EMAIL} exists already; nothing was changed"
    )
    assert len((await client.get("/api/workspaces", headers=headers)).json()["items"]) == 1


async def test_deleting_my_account_signs_me_out_everywhere(live: tuple[Starlette, httpx.AsyncClient]) -> None:
    _app, client = live
    email = f"gone.{uuid.uuid4().hex[:8]}@example.com"
    body = {"email": email, "password": PASSWORD, "name": "Gone"}
    answer = await client.post("/api/auth/signup", json=body)
    tokens = answer.json()
    me = {"Authorization": f"Bearer {tokens['accessToken']}"}
    assert (await client.delete("/api/users/me", headers=me)).status_code == 204

    # The user plugin's event reaches auth through the outbox and the event bus, which revokes every
    # session: the access token stops working and so does the refresh token.
    for _ in range(100):
        if (await client.get("/api/users/me", headers=me)).status_code == 401:
            break
        await asyncio.sleep(0.05)
    assert (await client.get("/api/users/me", headers=me)).status_code == 401
    refreshed = await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert refreshed.status_code == 401

    # Signing in again still works, so that the account can be restored within the grace period: that
    # token is good for restoring only, and once restored a refreshed one works everywhere.
    login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200
    again = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    assert (await client.get("/api/users/me", headers=again)).status_code == 403
    assert (await client.post("/api/users/me/restore", headers=again)).status_code == 200
    refreshed = await client.post("/api/auth/refresh", json={"refreshToken": login.json()["refreshToken"]})
    assert refreshed.status_code == 200
    restored = {"Authorization": f"Bearer {refreshed.json()['accessToken']}"}
    assert (await client.get("/api/users/me", headers=restored)).status_code == 200
