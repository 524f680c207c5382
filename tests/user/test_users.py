"""``/api/users``: my account, soft delete and restore, and teammates."""

from __future__ import annotations

import datetime as dt
import uuid

import httpx
from sqlalchemy import update
from wealist_plugins.user.models import User

from tests.user.conftest import World


async def test_me_reads_and_changes_my_account(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person("Ada Lovelace", "Ada@Example.com")

    me = (await client.get("/api/users/me", headers=ada.headers)).json()
    assert me == {
        "userId": str(ada.id),
        "email": "ada@example.com",
        "name": "Ada Lovelace",
        "locale": "ko",
        "defaultWorkspaceId": None,
        "createdAt": me["createdAt"],
    }
    changed = await client.patch("/api/users/me", headers=ada.headers, json={"name": "Ada", "locale": "en"})
    assert changed.status_code == 200
    assert (await client.get("/api/users/me", headers=ada.headers)).json()["name"] == "Ada"
    assert (await client.get("/api/users/me", headers=ada.headers)).json()["locale"] == "en"


async def test_me_refuses_bad_input_with_422(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    for body in ({"name": ""}, {"name": None}, {"locale": "not a locale"}, {"email": "x@example.com"}):
        answer = await client.patch("/api/users/me", headers=ada.headers, json=body)
        assert answer.status_code == 422, body
        assert answer.headers["content-type"] == "application/problem+json"


async def test_requests_without_a_token_are_401(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/users/me")
    assert answer.status_code == 401


async def test_default_workspace_must_be_one_i_belong_to(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    first = await world.workspace(ada, "First")
    second = await world.workspace(ada, "Second")
    theirs = await world.workspace(bob, "Theirs")
    # The first workspace I join becomes my default.
    assert (await client.get("/api/users/me", headers=ada.headers)).json()["defaultWorkspaceId"] == first[
        "workspaceId"
    ]

    chosen = await client.patch(
        "/api/users/me", headers=ada.headers, json={"defaultWorkspaceId": second["workspaceId"]}
    )
    assert chosen.json()["defaultWorkspaceId"] == second["workspaceId"]
    refused = await client.patch(
        "/api/users/me", headers=ada.headers, json={"defaultWorkspaceId": theirs["workspaceId"]}
    )
    assert refused.status_code == 422
    cleared = await client.patch("/api/users/me", headers=ada.headers, json={"defaultWorkspaceId": None})
    assert cleared.json()["defaultWorkspaceId"] is None


async def test_a_deleted_default_workspace_is_no_default(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    space = await world.workspace(ada)
    assert (
        await client.delete(f"/api/workspaces/{space['workspaceId']}", headers=ada.headers)
    ).status_code == 204
    assert (await client.get("/api/users/me", headers=ada.headers)).json()["defaultWorkspaceId"] is None


async def test_users_are_visible_only_to_people_sharing_a_workspace(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)

    seen = await client.get(f"/api/users/{bob.id}", headers=ada.headers)
    assert seen.status_code == 200
    assert seen.json() == {
        "userId": str(bob.id),
        "email": bob.email,
        "name": "Bob",
        "createdAt": seen.json()["createdAt"],
    }
    assert (await client.get(f"/api/users/{ada.id}", headers=ada.headers)).status_code == 200
    assert (await client.get(f"/api/users/{bob.id}", headers=eve.headers)).status_code == 404
    assert (await client.get(f"/api/users/{uuid.uuid4()}", headers=ada.headers)).status_code == 404


async def test_delete_then_restore_my_account(world: World, client: httpx.AsyncClient) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)

    assert (await client.delete("/api/users/me", headers=bob.headers)).status_code == 204
    await world.wait_for_event("user.user_deleted", userId=str(bob.id))
    refused = await client.get("/api/users/me", headers=bob.headers)
    assert refused.status_code == 403 and refused.json()["code"] == "ACCOUNT_DELETED"
    # Gone for everyone else: not a member any more, not visible, not in the directory's membership.
    members = (
        await client.get(f"/api/workspaces/{space['workspaceId']}/members", headers=ada.headers)
    ).json()
    assert [m["userId"] for m in members["items"]] == [str(ada.id)]
    assert (await client.get(f"/api/users/{bob.id}", headers=ada.headers)).status_code == 404
    assert await world.directory.membership(uuid.UUID(space["workspaceId"]), bob.id) is None
    assert (await world.directory.get_users([bob.id]))[0].deleted is True

    restored = await client.post("/api/users/me/restore", headers=bob.headers)
    assert restored.status_code == 200 and restored.json()["userId"] == str(bob.id)
    await world.wait_for_event("user.user_restored", userId=str(bob.id))
    members = (
        await client.get(f"/api/workspaces/{space['workspaceId']}/members", headers=ada.headers)
    ).json()
    assert {m["userId"] for m in members["items"]} == {str(ada.id), str(bob.id)}


async def test_restore_is_refused_after_the_grace_period(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    assert (await client.delete("/api/users/me", headers=ada.headers)).status_code == 204
    database = world.container.database("user")
    async with database.unit_of_work() as uow:
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=31)
        await uow.session.execute(update(User).where(User.id == ada.id).values(deleted_at=long_ago))

    answer = await client.post("/api/users/me/restore", headers=ada.headers)
    assert answer.status_code == 409 and answer.json()["code"] == "RESTORE_PERIOD_OVER"


async def test_an_owner_cannot_delete_the_account(world: World, client: httpx.AsyncClient) -> None:
    ada = await world.person()
    await world.workspace(ada)
    answer = await client.delete("/api/users/me", headers=ada.headers)
    assert answer.status_code == 409 and answer.json()["code"] == "OWNER_OF_WORKSPACES"
    assert (await client.get("/api/users/me", headers=ada.headers)).status_code == 200
