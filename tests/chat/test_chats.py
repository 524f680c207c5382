"""Chats: direct messages one per pair, groups, project channels, participants, leaving and deleting."""

from __future__ import annotations

import asyncio

import httpx
from starlette.applications import Starlette
from wealist_plugins.user.contract import MemberRemoved, Role
from wealist_plugins.user.testing import InMemoryDirectory

from tests.chat.conftest import Team, create_chat, group, send
from wealist_core.testing import assert_problem, on_both_backends, plugin_named


@on_both_backends
async def test_a_direct_message_exists_once_per_pair(wealist_client: httpx.AsyncClient, team: Team) -> None:
    first = await create_chat(wealist_client, team, team.ada, type="DM", participantIds=[team.id(team.bob)])
    again = await create_chat(
        wealist_client, team, team.bob, 200, type="DM", participantIds=[team.id(team.ada)]
    )
    assert again["chatId"] == first["chatId"]
    assert {p["userId"] for p in first["participants"]} == {team.id(team.ada), team.id(team.bob)}


async def test_only_members_of_the_workspace_can_be_added(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    answer = await wealist_client.post(
        "/api/chats",
        json={
            "workspaceId": str(team.workspace),
            "type": "GROUP",
            "name": "Mixed",
            "participantIds": [team.id(team.bob), team.id(team.stranger)],
        },
        headers=team.h(team.ada),
    )
    problem = assert_problem(answer, 422, "PARTICIPANT_NOT_MEMBER")
    assert problem["errors"][0]["field"] == "body.participantIds"
    listed = await wealist_client.get(f"/api/chats?workspaceId={team.workspace}", headers=team.h(team.ada))
    assert listed.json()["items"] == []  # nothing half-written


async def test_a_stranger_can_neither_create_nor_see_chats(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    answer = await wealist_client.get(f"/api/chats/{chat['chatId']}", headers=team.h(team.stranger))
    assert_problem(answer, 404, "CHAT_NOT_FOUND")
    answer = await wealist_client.post(
        "/api/chats",
        json={"workspaceId": str(team.workspace), "type": "GROUP", "name": "Mine"},
        headers=team.h(team.stranger),
    )
    assert_problem(answer, 404, "WORKSPACE_NOT_FOUND")


async def test_a_member_not_in_a_group_does_not_see_it(wealist_client: httpx.AsyncClient, team: Team) -> None:
    chat = await group(wealist_client, team, team.bob)
    answer = await wealist_client.get(f"/api/chats/{chat['chatId']}/messages", headers=team.h(team.cy))
    assert_problem(answer, 404, "CHAT_NOT_FOUND")
    mine = await wealist_client.get(f"/api/chats?workspaceId={team.workspace}", headers=team.h(team.cy))
    assert mine.json()["items"] == []


async def test_participants_are_added_and_removed_and_can_leave(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    path = f"/api/chats/{chat['chatId']}"
    added = await wealist_client.post(
        f"{path}/participants", json={"userIds": [team.id(team.cy)]}, headers=team.h(team.bob)
    )
    assert added.status_code == 200, added.text
    assert team.id(team.cy) in {p["userId"] for p in added.json()["participants"]}
    # Bob is no admin of the chat: he cannot remove Cy, but he can leave.
    refused = await wealist_client.delete(f"{path}/participants/{team.id(team.cy)}", headers=team.h(team.bob))
    assert_problem(refused, 403, "CHAT_ADMIN_REQUIRED")
    left = await wealist_client.delete(f"{path}/participants/{team.id(team.bob)}", headers=team.h(team.bob))
    assert left.status_code == 204
    assert_problem(await wealist_client.get(path, headers=team.h(team.bob)), 404, "CHAT_NOT_FOUND")
    removed = await wealist_client.delete(f"{path}/participants/{team.id(team.cy)}", headers=team.h(team.ada))
    assert removed.status_code == 204
    assert_problem(await wealist_client.get(path, headers=team.h(team.cy)), 404, "CHAT_NOT_FOUND")


async def test_a_group_is_deleted_by_its_creator_or_a_workspace_admin(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    refused = await wealist_client.delete(f"/api/chats/{chat['chatId']}", headers=team.h(team.bob))
    assert_problem(refused, 403, "CHAT_CREATOR_REQUIRED")
    by_owner = await wealist_client.delete(f"/api/chats/{chat['chatId']}", headers=team.h(team.owner))
    assert by_owner.status_code == 204
    assert_problem(
        await wealist_client.get(f"/api/chats/{chat['chatId']}", headers=team.h(team.ada)),
        404,
        "CHAT_NOT_FOUND",
    )
    dm = await create_chat(wealist_client, team, team.ada, type="DM", participantIds=[team.id(team.bob)])
    assert_problem(
        await wealist_client.delete(f"/api/chats/{dm['chatId']}", headers=team.h(team.ada)), 403, "CHAT_IS_DM"
    )


async def test_a_project_channel_is_one_per_project(wealist_client: httpx.AsyncClient, team: Team) -> None:
    import uuid

    project = str(uuid.uuid4())
    first = await create_chat(
        wealist_client, team, team.ada, type="PROJECT", name="Apollo", projectId=project
    )
    again = await create_chat(
        wealist_client, team, team.bob, 200, type="PROJECT", name="Apollo", projectId=project
    )
    assert again["chatId"] == first["chatId"]
    assert team.id(team.bob) in {p["userId"] for p in again["participants"]}
    missing = await wealist_client.post(
        "/api/chats",
        json={"workspaceId": str(team.workspace), "type": "PROJECT", "name": "X"},
        headers=team.h(team.ada),
    )
    assert_problem(missing, 422, "PROJECT_REQUIRED")


@on_both_backends
async def test_my_chats_carry_unread_counts_and_the_last_message(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    for text in ("one", "two", "three"):
        await send(wealist_client, team, team.ada, chat, text)
    listed = (
        await wealist_client.get(f"/api/chats?workspaceId={team.workspace}", headers=team.h(team.bob))
    ).json()
    [item] = listed["items"]
    assert item["unreadCount"] == 3 and item["lastMessage"]["content"] == "three"
    read = await wealist_client.post(
        f"/api/chats/{chat['chatId']}/read", json={"seq": 2}, headers=team.h(team.bob)
    )
    assert read.json()["unreadCount"] == 1
    mine = (
        await wealist_client.get(f"/api/chats?workspaceId={team.workspace}", headers=team.h(team.ada))
    ).json()
    assert mine["items"][0]["unreadCount"] == 0  # what I sent is read


async def test_someone_who_leaves_the_workspace_leaves_its_chats(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, directory: InMemoryDirectory, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob, team.cy)
    await send(wealist_client, team, team.bob, chat, "bye all")
    directory.remove_member(team.workspace, team.bob.user_id)
    # At once, before the event arrives: no longer a member, no longer sees the chat.
    gone = await wealist_client.get(f"/api/chats/{chat['chatId']}", headers=team.h(team.bob))
    assert_problem(gone, 404, "CHAT_NOT_FOUND")
    plugin = plugin_named(wealist_app, "chat")
    event = MemberRemoved(
        workspace_id=team.workspace,
        workspace_name="Apollo",
        user_id=team.bob.user_id,
        user_name="Bob",
        role=Role.MEMBER,
        actor_id=team.bob.user_id,
        actor_name="Bob",
        reason="LEFT",
    )
    await plugin.on_member_removed(event)  # type: ignore[attr-defined]
    seen = (await wealist_client.get(f"/api/chats/{chat['chatId']}", headers=team.h(team.ada))).json()
    assert {p["userId"] for p in seen["participants"]} == {team.id(team.ada), team.id(team.cy)}
    history = await wealist_client.get(f"/api/chats/{chat['chatId']}/messages", headers=team.h(team.ada))
    assert [m["content"] for m in history.json()["items"]] == ["bye all"]  # what Bob wrote stays


@on_both_backends
async def test_two_people_opening_their_direct_message_at_once_get_one(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    answers = await asyncio.gather(
        wealist_client.post(
            "/api/chats",
            json={"workspaceId": str(team.workspace), "type": "DM", "participantIds": [team.id(team.bob)]},
            headers=team.h(team.ada),
        ),
        wealist_client.post(
            "/api/chats",
            json={"workspaceId": str(team.workspace), "type": "DM", "participantIds": [team.id(team.ada)]},
            headers=team.h(team.bob),
        ),
    )
    assert sorted(a.status_code for a in answers) == [200, 201]
    assert answers[0].json()["chatId"] == answers[1].json()["chatId"]
    listed = await wealist_client.get(
        f"/api/chats?workspaceId={team.workspace}&type=DM", headers=team.h(team.ada)
    )
    assert len(listed.json()["items"]) == 1
