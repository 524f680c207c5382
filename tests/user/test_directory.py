"""The ``Directory`` contract: what other plugins see of users and memberships, in process and over HTTP."""

from __future__ import annotations

import uuid

import httpx
import pytest
from wealist_plugins.user.contract import Role, require_member

from tests.user.conftest import World
from wealist_core import Forbidden, NotFound


async def test_memberships_of_live_workspaces_and_live_users_only(
    world: World, client: httpx.AsyncClient
) -> None:
    ada, bob = await world.person("Ada"), await world.person("Bob")
    kept = await world.workspace(ada, "Kept")
    dropped = await world.workspace(ada, "Dropped")
    await world.add(kept, ada, bob, "ADMIN")
    kept_id, dropped_id = uuid.UUID(kept["workspaceId"]), uuid.UUID(dropped["workspaceId"])
    directory = world.directory

    membership = await directory.membership(kept_id, bob.id)
    assert membership is not None and membership.role is Role.ADMIN and membership.user_id == bob.id
    assert {(m.user_id, m.role) for m in await directory.members(kept_id)} == {
        (ada.id, Role.OWNER),
        (bob.id, Role.ADMIN),
    }
    assert {m.workspace_id for m in await directory.user_workspaces(ada.id)} == {kept_id, dropped_id}

    await client.delete(f"/api/workspaces/{dropped_id}", headers=ada.headers)
    assert await directory.membership(dropped_id, ada.id) is None
    assert await directory.members(dropped_id) == []
    assert {m.workspace_id for m in await directory.user_workspaces(ada.id)} == {kept_id}
    assert await directory.membership(uuid.uuid4(), ada.id) is None


async def test_users_by_id_and_by_email(world: World) -> None:
    ada, bob = await world.person("Ada", "ada@example.com"), await world.person("Bob")
    found = await world.directory.get_users([ada.id, bob.id, uuid.uuid4()])
    assert {u.user_id for u in found} == {ada.id, bob.id}
    by_email = await world.directory.find_user_by_email("  ADA@example.com ")
    assert by_email is not None and by_email.user_id == ada.id and by_email.name == "Ada"
    assert await world.directory.find_user_by_email("nobody@example.com") is None
    assert await world.directory.get_users([]) == []


async def test_member_profiles_show_workspace_nicknames(world: World, client: httpx.AsyncClient) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)
    await client.patch(
        "/api/profiles/me",
        params={"workspaceId": space["workspaceId"]},
        headers=bob.headers,
        json={"nickname": "Bobby"},
    )

    profiles = await world.directory.member_profiles(
        uuid.UUID(space["workspaceId"]), [ada.id, bob.id, eve.id]
    )
    assert sorted((p.name, p.nickname, p.role) for p in profiles) == [
        ("Ada", "Ada", Role.OWNER),
        ("Bob", "Bobby", Role.MEMBER),
    ]


async def test_require_member_answers_404_and_403(world: World) -> None:
    ada, bob, eve = await world.person("Ada"), await world.person("Bob"), await world.person("Eve")
    space = await world.workspace(ada)
    await world.add(space, ada, bob)
    ws = uuid.UUID(space["workspaceId"])

    assert (await require_member(world.directory, ws, bob.id)).role is Role.MEMBER
    assert (
        await require_member(world.directory, ws, ada.id, roles={Role.OWNER, Role.ADMIN})
    ).role is Role.OWNER
    with pytest.raises(NotFound):
        await require_member(world.directory, ws, eve.id)
    with pytest.raises(Forbidden):
        await require_member(world.directory, ws, bob.id, roles={Role.OWNER, Role.ADMIN})


async def test_the_contract_answers_other_processes_over_http(
    world: World, client: httpx.AsyncClient
) -> None:
    ada = await world.person("Ada")
    space = await world.workspace(ada)
    service = {"Authorization": "Bearer test-service-token"}

    users = await client.post(
        "/internal/user/Directory/get_users", headers=service, json={"args": {"user_ids": [str(ada.id)]}}
    )
    assert users.status_code == 200, users.text
    assert users.json()["result"][0]["userId"] == str(ada.id)
    membership = await client.post(
        "/internal/user/Directory/membership",
        headers=service,
        json={"args": {"workspace_id": space["workspaceId"], "user_id": str(ada.id)}},
    )
    assert membership.json()["result"]["role"] == "OWNER"
    created = await client.post(
        "/internal/user/Directory/create_user",
        headers=service,
        json={"args": {"user_id": str(uuid.uuid4()), "email": "ada@EXAMPLE.com", "name": "Ada"}},
    )
    assert created.status_code == 200, created.text
    taken = await client.post(
        "/internal/user/Directory/create_user",
        headers=service,
        json={"args": {"user_id": str(uuid.uuid4()), "email": "ada@example.com", "name": "Ada"}},
    )
    assert taken.status_code == 409 and taken.json()["code"] == "EMAIL_TAKEN"
    refused = await client.post("/internal/user/Directory/get_users", json={"args": {"user_ids": []}})
    assert refused.status_code == 401
