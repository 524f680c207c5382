"""A deleted account's new token is refused by every route but restore, with 403 ``ACCOUNT_DELETED``;
after restoring, a refreshed token works everywhere again (as ``docs/user.md`` says).

Every operation of the OpenAPI document that takes a token (user, auth, chat, video and a toy) is called
with the deleted account's token.
"""

from __future__ import annotations

import asyncio
import re
import uuid
from typing import Any

import httpx
from wealist_plugins.user.contract import RESTORE_ROUTE

from tests.auth.support import bearer, login, monolith, running, settings_for, signup, unique_email
from wealist_core.testing import assert_problem

_PARAM = re.compile(r"\{([^}:]+)(?::[^}]+)?\}")


def _operations(document: dict[str, Any]) -> list[tuple[str, str]]:
    """``(METHOD, path with every parameter filled)`` of each operation that takes a bearer token."""
    found = []
    for template, item in document["paths"].items():
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete") or not operation.get("security"):
                continue
            path = _PARAM.sub(lambda _m: str(uuid.uuid4()), template)
            found.append((method.upper(), path))
    return found


async def _until_refused(client: httpx.AsyncClient, token: str) -> None:
    """auth signs a deleted account out when it consumes ``user.user_deleted``: soon, not at once."""
    for _ in range(400):
        if (await client.get("/api/whoami", headers=bearer(token))).status_code == 401:
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the deleted account's old token is still accepted")


def _with_domain_plugins() -> list[object]:
    """The landed domain plugins beside the identity ones: the rule holds for their routes too."""
    from wealist_plugins.chat.plugin import ChatPlugin
    from wealist_plugins.video.plugin import VideoPlugin

    return [ChatPlugin, VideoPlugin]


async def test_a_deleted_accounts_new_token_is_refused_by_every_route_but_restore(
    settings_factory: Any,
) -> None:
    app = monolith(settings_for(settings_factory, {}), *_with_domain_plugins())
    async with running(app) as client:
        email = unique_email()
        pair = await signup(client, email)
        assert (await client.delete("/api/users/me", headers=bearer(pair["accessToken"]))).status_code == 204
        await _until_refused(client, pair["accessToken"])

        signed_in = await login(client, email)
        assert signed_in.status_code == 200, signed_in.text
        token, refresh = signed_in.json()["accessToken"], signed_in.json()["refreshToken"]

        document = (await client.get("/api/openapi.json")).json()
        operations = _operations(document)
        assert RESTORE_ROUTE in operations and ("GET", "/api/whoami") in operations
        assert len(operations) > 50  # the identity, chat and video routes, not a handful
        assert any(path.startswith("/api/chats") for _m, path in operations), "the chat plugin's routes"
        assert any(path.startswith("/api/video") for _m, path in operations), "the video plugin's routes"
        for method, path in operations:
            if (method, path) == RESTORE_ROUTE:
                continue
            kwargs: dict[str, Any] = {"json": {}} if method in ("POST", "PUT", "PATCH") else {}
            answer = await client.request(method, path, headers=bearer(token), **kwargs)
            assert answer.status_code == 403, (method, path, answer.status_code, answer.text)
            assert answer.json()["code"] == "ACCOUNT_DELETED", (method, path, answer.text)
            assert "/api/users/me/restore" in answer.json()["detail"]

        restored = await client.post(RESTORE_ROUTE[1], headers=bearer(token))
        assert restored.status_code == 200, restored.text
        assert restored.json()["email"] == email

        # The marked token stays marked until it expires; a refreshed one works everywhere.
        assert_problem(await client.get("/api/users/me", headers=bearer(token)), 403, "ACCOUNT_DELETED")
        refreshed = await client.post("/api/auth/refresh", json={"refreshToken": refresh})
        assert refreshed.status_code == 200, refreshed.text
        fresh = bearer(refreshed.json()["accessToken"])
        assert (await client.get("/api/users/me", headers=fresh)).status_code == 200
        assert (await client.get("/api/auth/sessions", headers=fresh)).status_code == 200


async def test_a_live_accounts_token_is_not_marked(settings_factory: Any) -> None:
    app = monolith(settings_for(settings_factory, {}))
    async with running(app) as client:
        pair = await signup(client)
        assert (
            await client.get("/api/auth/sessions", headers=bearer(pair["accessToken"]))
        ).status_code == 200
        # Restoring a live account is a no-op that answers the account.
        restored = await client.post(RESTORE_ROUTE[1], headers=bearer(pair["accessToken"]))
        assert restored.status_code == 200, restored.text
