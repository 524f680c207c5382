"""The token verifier in every process: over WebSockets, in a process without auth (split mode, keys
fetched from the auth peer over HTTP), and revocation seen at once by another instance sharing Redis."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from starlette.applications import Starlette
from wealist_plugins.auth.verifier import TokenVerifierPlugin
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.auth.support import (
    ADAPTERS,
    assert_problem,
    auth_plugin,
    bearer,
    login,
    monolith,
    running,
    settings_for,
    signup,
    unique_email,
)
from tests.plugins.whoami import WhoAmIPlugin
from tests.support.processes import free_port, serving
from wealist_core import Settings
from wealist_core.app import create_app


def verifier_only(settings: Settings) -> Starlette:
    """A process without the auth plugin: just the verifier and a route that needs a principal."""
    return create_app(settings, plugins=[TokenVerifierPlugin, WhoAmIPlugin], adapters=ADAPTERS)


def verifier_of(app: Starlette) -> TokenVerifierPlugin:
    plugin = app.state.wealist.host.active["auth_verifier"].obj
    assert isinstance(plugin, TokenVerifierPlugin)
    return plugin


async def whoami(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.get("/api/whoami", headers=bearer(token))


# ------------------------------------------------------------------------------------------------ sockets


async def first_answer(url: str, token: str) -> dict[str, Any] | int:
    """The server's answer to an AUTH frame: its first frame, or the close code."""
    async with connect(url, open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "AUTH", "token": token}))
        try:
            frame: dict[str, Any] = json.loads(await ws.recv())
        except ConnectionClosed as closed:
            assert closed.rcvd is not None
            return closed.rcvd.code
        return frame


async def test_a_websocket_authenticates_its_first_frame_with_an_access_token(app: Starlette) -> None:
    async with serving(app) as base:
        async with httpx.AsyncClient(base_url=base) as client:
            pair = await signup(client)
            url = base.replace("http://", "ws://") + "/ws/whoami"

            assert await first_answer(url, pair["accessToken"]) == {"type": "READY", "userId": pair["userId"]}
            assert await first_answer(url, pair["accessToken"][:-4] + "AAAA") == 4401
            assert await first_answer(url, "not-a-jwt") == 4401

            await client.post("/api/auth/logout", headers=bearer(pair["accessToken"]), json={})
            assert await first_answer(url, pair["accessToken"]) == 4401


# ------------------------------------------------------------------------------------------------- split


@pytest.fixture
def split_backend(backend: dict[str, Any], redis_url: str) -> dict[str, Any]:
    """The backend of a split deployment: its processes share auth's key space (a Redis), as they must:
    the verifier accepts a token only while its session's record is there."""
    return backend or {"keyvalue_url": redis_url}


@pytest.fixture
async def auth_server(
    settings_factory: Any, split_backend: dict[str, Any]
) -> AsyncIterator[tuple[Starlette, str]]:
    """The auth process, served by uvicorn on a free loopback port."""
    app = monolith(settings_for(settings_factory, split_backend))
    async with serving(app, port=free_port()) as url:
        yield app, url


async def test_a_process_without_auth_verifies_tokens_with_the_peers_jwks(
    settings_factory: Any, split_backend: dict[str, Any], auth_server: tuple[Starlette, str]
) -> None:
    auth_app, auth_url = auth_server
    split = verifier_only(
        settings_for(settings_factory, split_backend, jwks_refetch_interval="0").model_copy(
            update={"peers": {"auth": auth_url}}
        )
    )
    async with httpx.AsyncClient(base_url=auth_url) as auth, running(split) as board:
        email = unique_email()
        pair = await signup(auth, email)

        me = await whoami(board, pair["accessToken"])
        assert me.status_code == 200, me.text
        assert me.json()["userId"] == pair["userId"]
        assert verifier_of(split).jwks is not None and verifier_of(split).jwks.fetches == 1
        assert_problem(await whoami(board, pair["accessToken"][:-4] + "AAAA"), 401, "UNAUTHORIZED")

        # A key rotated in at auth is fetched again when a token names it.
        await auth_plugin(auth_app).keys.rotate()
        rotated = (await login(auth, email)).json()
        assert (await whoami(board, rotated["accessToken"])).status_code == 200
        assert verifier_of(split).jwks.fetches == 2

        # A shared Redis: the revocation written by auth is read by this process at once.
        await auth.post("/api/auth/logout", headers=bearer(rotated["accessToken"]), json={})
        assert_problem(await whoami(board, rotated["accessToken"]), 401, "UNAUTHORIZED")


async def test_forged_kids_do_not_make_the_verifier_hammer_the_peer(
    settings_factory: Any, split_backend: dict[str, Any], auth_server: tuple[Starlette, str]
) -> None:
    _auth_app, auth_url = auth_server
    split = verifier_only(
        settings_for(settings_factory, split_backend).model_copy(update={"peers": {"auth": auth_url}})
    )
    async with httpx.AsyncClient(base_url=auth_url) as auth, running(split) as board:
        pair = await signup(auth)
        claims = jwt.decode(pair["accessToken"], options={"verify_signature": False})
        assert (await whoami(board, pair["accessToken"])).status_code == 200
        for index in range(5):
            forged = jwt.encode(
                claims, Ed25519PrivateKey.generate(), algorithm="EdDSA", headers={"kid": f"k{index}"}
            )
            assert_problem(await whoami(board, forged), 401, "UNAUTHORIZED")
        jwks = verifier_of(split).jwks
        assert jwks is not None and jwks.fetches == 1


async def test_an_unreachable_auth_peer_is_a_503_not_a_pass(settings_factory: Any) -> None:
    split = verifier_only(
        settings_for(settings_factory, {}).model_copy(
            update={"peers": {"auth": f"http://127.0.0.1:{free_port()}"}}
        )
    )
    async with running(split) as board:
        assert_problem(
            await whoami(board, "eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30.AAAA"), 503, "AUTH_UNAVAILABLE"
        )


async def test_without_auth_or_a_peer_no_token_is_accepted(settings_factory: Any) -> None:
    split = verifier_only(settings_for(settings_factory, {}))
    async with running(split) as board:
        token = "eyJhbGciOiJFZERTQSIsImtpZCI6IngifQ.e30.AAAA"
        assert_problem(await whoami(board, token), 401, "UNAUTHORIZED")


# ------------------------------------------------------------------------------------- second instance


async def test_logout_revokes_the_token_in_a_second_instance_at_once(
    settings_factory: Any, postgres_url: str, redis_url: str
) -> None:
    shared = {
        "database_url": postgres_url,
        "keyvalue_url": redis_url,
        "pubsub_url": redis_url,
        "eventbus_url": redis_url,
        "auto_migrate": True,
    }
    first = monolith(settings_for(settings_factory, shared))
    second = monolith(settings_for(settings_factory, shared))
    async with running(first) as one, running(second) as two:
        pair = await signup(one)
        assert (await whoami(two, pair["accessToken"])).status_code == 200

        assert (
            await one.post("/api/auth/logout", headers=bearer(pair["accessToken"]), json={})
        ).status_code == 204

        body = assert_problem(await whoami(two, pair["accessToken"]), 401, "UNAUTHORIZED")
        assert "revoked" in body["detail"]
        refreshed = await two.post("/api/auth/refresh", json={"refreshToken": pair["refreshToken"]})
        assert_problem(refreshed, 401, "UNAUTHORIZED")
