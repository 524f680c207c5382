"""A member of workspace A gets nothing of workspace B: every route of the user plugin, walked.

The walk enumerates the application's routes of the plugin ``user``, fills every path parameter with B's
ids (B's workspace, a member of B, B's pending invitation and join request) and sends B's id wherever a
route takes a workspace in its query or body, with a stranger's token. Routes about the stranger alone
(``/api/users/me``, creating and searching workspaces) may succeed, but must not reveal B. A route added to
the plugin without an entry here fails the test, so the walk stays complete.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from tests.user.conftest import Person, World
from wealist_core.http import ApiRoute


@dataclass(frozen=True)
class Call:
    """How to call one route: ``about_b`` calls must answer 403 or 404."""

    about_b: bool
    query: dict[str, str] | None = None
    body: dict[str, Any] | None = None


def _calls(b: dict[str, str]) -> dict[tuple[str, str], Call]:
    ws = b["workspaceId"]
    return {
        # The stranger's own account: fine to answer, must not show B.
        ("GET", "/api/users/me"): Call(False),
        ("PATCH", "/api/users/me"): Call(False, body={"defaultWorkspaceId": ws}),
        ("DELETE", "/api/users/me"): Call(False),
        ("POST", "/api/users/me/restore"): Call(False),
        ("POST", "/api/workspaces"): Call(False, body={"name": "Mine"}),
        ("GET", "/api/workspaces"): Call(False),
        ("GET", "/api/workspaces/search"): Call(False, query={"q": b["name"]}),
        # Everything about B.
        ("GET", "/api/users/{userId}"): Call(True),
        ("POST", "/api/workspaces/invitations/{token}/accept"): Call(True),
        ("GET", "/api/workspaces/{workspaceId}"): Call(True),
        ("PATCH", "/api/workspaces/{workspaceId}"): Call(True, body={"name": "Taken over", "isPublic": True}),
        ("DELETE", "/api/workspaces/{workspaceId}"): Call(True),
        ("POST", "/api/workspaces/{workspaceId}/transfer"): Call(True, body={"userId": b["memberId"]}),
        ("GET", "/api/workspaces/{workspaceId}/members"): Call(True),
        ("PATCH", "/api/workspaces/{workspaceId}/members/{userId}"): Call(True, body={"role": "ADMIN"}),
        ("DELETE", "/api/workspaces/{workspaceId}/members/{userId}"): Call(True),
        ("POST", "/api/workspaces/{workspaceId}/invitations"): Call(
            True, body={"email": "friend@example.com"}
        ),
        ("GET", "/api/workspaces/{workspaceId}/invitations"): Call(True),
        ("DELETE", "/api/workspaces/{workspaceId}/invitations/{invitationId}"): Call(True),
        ("POST", "/api/workspaces/{workspaceId}/join-requests"): Call(True, body={}),
        ("GET", "/api/workspaces/{workspaceId}/join-requests"): Call(True),
        ("POST", "/api/workspaces/{workspaceId}/join-requests/{requestId}/approve"): Call(True),
        ("POST", "/api/workspaces/{workspaceId}/join-requests/{requestId}/reject"): Call(True),
        ("GET", "/api/profiles/me"): Call(True, query={"workspaceId": ws}),
        ("PATCH", "/api/profiles/me"): Call(True, query={"workspaceId": ws}, body={"nickname": "Spy"}),
        ("POST", "/api/profiles/me/avatar"): Call(
            True, body={"workspaceId": ws, "fileName": "a.png", "contentType": "image/png", "size": 10}
        ),
        ("GET", "/api/profiles/{userId}"): Call(True, query={"workspaceId": ws}),
    }


def _user_routes(app: Starlette) -> list[tuple[str, str, ApiRoute]]:
    out = []
    for route in app.routes:
        if isinstance(route, ApiRoute) and route.plugin == "user":
            template = re.sub(r"{([^}:]+)(:[^}]+)?}", r"{\1}", route.path)
            out += [(method, template, route) for method in sorted(route.methods or ()) if method != "HEAD"]
    return out


async def _workspace_b(
    world: World, client: httpx.AsyncClient, *, public: bool
) -> tuple[dict[str, str], Person]:
    owner, member, asker = await world.person("Bea"), await world.person("Ben"), await world.person("Bo")
    space = await world.workspace(owner, "Bravo Secret", isPublic=True)
    await world.add(space, owner, member)
    ws = space["workspaceId"]
    invited = await client.post(
        f"/api/workspaces/{ws}/invitations", headers=owner.headers, json={"email": "i@example.com"}
    )
    request = await client.post(f"/api/workspaces/{ws}/join-requests", headers=asker.headers, json={})
    if not public:
        await client.patch(f"/api/workspaces/{ws}", headers=owner.headers, json={"isPublic": False})
    ids = {
        "workspaceId": ws,
        "name": space["name"],
        "userId": str(member.id),
        "memberId": str(member.id),
        "invitationId": invited.json()["invitationId"],
        "requestId": request.json()["requestId"],
        "token": "an-invitation-token-the-stranger-does-not-have",
    }
    return ids, owner


async def walk_as_stranger(
    client: httpx.AsyncClient, app: Starlette, b: dict[str, str], headers: dict[str, str], visibility: str
) -> None:
    """Call every route of the user plugin about B with ``headers``; assert B is neither shown nor changed."""
    calls = _calls(b)
    routes = _user_routes(app)
    assert {(m, p) for m, p, _ in routes} == set(calls), "every route of the user plugin needs a Call here"
    for method, template, _route in routes:
        call = calls[(method, template)]
        path = re.sub(r"{([^}]+)}", lambda m: b[m.group(1)], template)
        if visibility == "public" and (method, template) == (
            "POST",
            "/api/workspaces/{workspaceId}/join-requests",
        ):
            continue  # asking to join a public workspace is what it is for; checked by the callers
        answer = await client.request(method, path, params=call.query, json=call.body, headers=headers)
        where = f"{method} {path} -> {answer.status_code} {answer.text[:200]}"
        assert answer.status_code < 500, where
        if call.about_b:
            assert answer.status_code in (403, 404), where
        else:
            assert b["memberId"] not in answer.text, where
            if not (visibility == "public" and template == "/api/workspaces/search"):
                assert b["workspaceId"] not in answer.text, where


@pytest.mark.parametrize("visibility", ["private", "public"])
async def test_a_stranger_gets_nothing_of_another_workspace(
    world: World, client: httpx.AsyncClient, app: Starlette, visibility: str
) -> None:
    b, b_owner = await _workspace_b(world, client, public=visibility == "public")
    stranger = await world.person("Stranger")
    await world.workspace(stranger, "Alpha")  # a member of A, owner even
    await walk_as_stranger(client, app, b, stranger.headers, visibility)

    # B is untouched.
    seen = await client.get(f"/api/workspaces/{b['workspaceId']}", headers=b_owner.headers)
    assert seen.status_code == 200 and seen.json()["name"] == "Bravo Secret"
    members = await client.get(f"/api/workspaces/{b['workspaceId']}/members", headers=b_owner.headers)
    assert [(m["name"], m["role"]) for m in members.json()["items"]] == [("Bea", "OWNER"), ("Ben", "MEMBER")]
    invitations = await client.get(f"/api/workspaces/{b['workspaceId']}/invitations", headers=b_owner.headers)
    assert [i["invitationId"] for i in invitations.json()["items"]] == [b["invitationId"]]
    requests = await client.get(f"/api/workspaces/{b['workspaceId']}/join-requests", headers=b_owner.headers)
    assert [r["requestId"] for r in requests.json()["items"]] == [b["requestId"]]

    if visibility == "public":
        # Findable and joinable, yet nothing of it is open before someone lets the stranger in.
        found = await client.get("/api/workspaces/search", params={"q": "bravo"}, headers=stranger.headers)
        assert [w["workspaceId"] for w in found.json()["items"]] == [b["workspaceId"]]
        asked = await client.post(
            f"/api/workspaces/{b['workspaceId']}/join-requests", headers=stranger.headers, json={}
        )
        assert asked.status_code == 201 and asked.json()["status"] == "PENDING"
        assert (
            await client.get(f"/api/workspaces/{b['workspaceId']}/members", headers=stranger.headers)
        ).status_code == 404
    else:
        found = await client.get("/api/workspaces/search", params={"q": "bravo"}, headers=stranger.headers)
        assert found.json()["items"] == []


async def test_every_route_needs_a_token(app: Starlette, client: httpx.AsyncClient) -> None:
    for method, template, _route in _user_routes(app):
        path = re.sub(r"{([^}]+)}", lambda _m: str(uuid.uuid4()), template)
        answer = await client.request(method, path)
        assert answer.status_code == 401, f"{method} {path} -> {answer.status_code}"
