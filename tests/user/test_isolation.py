"""A member of workspace A gets nothing of workspace B: every route of the user plugin, walked.

The walk enumerates the application's routes of the plugin ``user``, fills every path parameter with B's
ids (B's workspace, a member of B, B's pending invitation and join request) and sends B's id wherever a
route takes a workspace in its query or body, with a stranger's token. Routes about the stranger alone
(``/api/users/me``, creating and searching workspaces) may succeed, but must not reveal B. A route added to
the plugin without an entry here fails the test, so the walk stays complete.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.user.conftest import Person, World
from wealist_core.testing import Probe, assert_routes_need_a_token, probe_routes


def _calls(b: dict[str, str], visibility: str) -> dict[tuple[str, str], Probe]:
    ws = "{workspaceId}"
    refused = Probe(statuses=(403, 404))
    # Asking to join a public workspace is what it is for (checked by the caller); a private one is a 404.
    join = Probe(refused=False, body={}) if visibility == "public" else Probe(statuses=(403, 404), body={})
    return {
        # The stranger's own account: fine to answer, must not show B.
        ("GET", "/api/users/me"): Probe(refused=False),
        ("PATCH", "/api/users/me"): Probe(refused=False, body={"defaultWorkspaceId": ws}),
        ("DELETE", "/api/users/me"): Probe(refused=False),
        ("POST", "/api/users/me/restore"): Probe(refused=False),
        ("POST", "/api/workspaces"): Probe(refused=False, body={"name": "Mine"}),
        ("GET", "/api/workspaces"): Probe(refused=False),
        ("GET", "/api/workspaces/search"): Probe(refused=False, query={"q": "{name}"}),
        # Everything about B.
        ("GET", "/api/users/{userId}"): refused,
        ("POST", "/api/workspaces/invitations/{token}/accept"): refused,
        ("GET", "/api/workspaces/{workspaceId}"): refused,
        ("PATCH", "/api/workspaces/{workspaceId}"): Probe(
            statuses=(403, 404), body={"name": "Taken over", "isPublic": True}
        ),
        ("DELETE", "/api/workspaces/{workspaceId}"): refused,
        ("POST", "/api/workspaces/{workspaceId}/transfer"): Probe(
            statuses=(403, 404), body={"userId": "{memberId}"}
        ),
        ("GET", "/api/workspaces/{workspaceId}/members"): refused,
        ("PATCH", "/api/workspaces/{workspaceId}/members/{userId}"): Probe(
            statuses=(403, 404), body={"role": "ADMIN"}
        ),
        ("DELETE", "/api/workspaces/{workspaceId}/members/{userId}"): refused,
        ("POST", "/api/workspaces/{workspaceId}/invitations"): Probe(
            statuses=(403, 404), body={"email": "friend@example.com"}
        ),
        ("GET", "/api/workspaces/{workspaceId}/invitations"): refused,
        ("DELETE", "/api/workspaces/{workspaceId}/invitations/{invitationId}"): refused,
        ("POST", "/api/workspaces/{workspaceId}/join-requests"): join,
        ("GET", "/api/workspaces/{workspaceId}/join-requests"): refused,
        ("POST", "/api/workspaces/{workspaceId}/join-requests/{requestId}/approve"): refused,
        ("POST", "/api/workspaces/{workspaceId}/join-requests/{requestId}/reject"): refused,
        ("GET", "/api/profiles/me"): Probe(statuses=(403, 404), query={"workspaceId": ws}),
        ("PATCH", "/api/profiles/me"): Probe(
            statuses=(403, 404), query={"workspaceId": ws}, body={"nickname": "Spy"}
        ),
        ("POST", "/api/profiles/me/avatar"): Probe(
            statuses=(403, 404),
            body={"workspaceId": ws, "fileName": "a.png", "contentType": "image/png", "size": 10},
        ),
        ("GET", "/api/profiles/{userId}"): Probe(statuses=(403, 404), query={"workspaceId": ws}),
    }


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
    calls = _calls(b, visibility)
    # A public workspace is findable (its name shows in search) and joinable by design.
    secrets = [] if visibility == "public" else [b["name"]]
    answers = await probe_routes(
        app, client, plugin="user", calls=calls, ids=b, headers=headers, secrets=secrets
    )
    by_design = {"/api/workspaces/search", "/api/workspaces/{workspaceId}/join-requests"}
    for (method, template), answer in answers.items():
        if calls[(method, template)].refused:
            continue  # a refusal may name the id it was asked about
        where = f"{method} {template} -> {answer.text[:200]}"
        assert b["memberId"] not in answer.text, where
        if not (visibility == "public" and template in by_design):
            assert b["workspaceId"] not in answer.text, where
    return answers


@pytest.mark.parametrize("visibility", ["private", "public"])
async def test_a_stranger_gets_nothing_of_another_workspace(
    world: World, client: httpx.AsyncClient, app: Starlette, visibility: str
) -> None:
    b, b_owner = await _workspace_b(world, client, public=visibility == "public")
    stranger = await world.person("Stranger")
    await world.workspace(stranger, "Alpha")  # a member of A, owner even
    answers = await walk_as_stranger(client, app, b, stranger.headers, visibility)
    asked = answers[("POST", "/api/workspaces/{workspaceId}/join-requests")]

    # B is untouched (but for the stranger's own request to join a public workspace).
    seen = await client.get(f"/api/workspaces/{b['workspaceId']}", headers=b_owner.headers)
    assert seen.status_code == 200 and seen.json()["name"] == "Bravo Secret"
    members = await client.get(f"/api/workspaces/{b['workspaceId']}/members", headers=b_owner.headers)
    assert [(m["name"], m["role"]) for m in members.json()["items"]] == [("Bea", "OWNER"), ("Ben", "MEMBER")]
    invitations = await client.get(f"/api/workspaces/{b['workspaceId']}/invitations", headers=b_owner.headers)
    assert [i["invitationId"] for i in invitations.json()["items"]] == [b["invitationId"]]
    requests = await client.get(f"/api/workspaces/{b['workspaceId']}/join-requests", headers=b_owner.headers)
    pending = {r["requestId"] for r in requests.json()["items"]}

    if visibility == "public":
        # Findable and joinable, yet nothing of it is open before someone lets the stranger in.
        found = await client.get("/api/workspaces/search", params={"q": "bravo"}, headers=stranger.headers)
        assert [w["workspaceId"] for w in found.json()["items"]] == [b["workspaceId"]]
        assert asked.status_code == 201 and asked.json()["status"] == "PENDING"
        assert pending == {b["requestId"], asked.json()["requestId"]}
        assert (
            await client.get(f"/api/workspaces/{b['workspaceId']}/members", headers=stranger.headers)
        ).status_code == 404
    else:
        assert pending == {b["requestId"]}
        found = await client.get("/api/workspaces/search", params={"q": "bravo"}, headers=stranger.headers)
        assert found.json()["items"] == []


async def test_every_route_needs_a_token(app: Starlette, client: httpx.AsyncClient) -> None:
    await assert_routes_need_a_token(app, client, plugin="user")
