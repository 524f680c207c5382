"""A stranger's walk of every chat route with another workspace's ids, and a member of the workspace who is
not in the chat walking the same: nothing of the chat is shown, nothing of it changes."""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette

from tests.chat.conftest import Team, group, send
from wealist_core.testing import Probe, assert_routes_need_a_token, probe_routes

SECRET = "the launch code is 0000"


async def _arrange(client: httpx.AsyncClient, team: Team) -> dict[str, str]:
    chat = await group(client, team, team.bob, name="Hidden plans")
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
    started = await client.post(
        f"/api/chats/{chat['chatId']}/attachments",
        json={"fileName": "plan.png", "contentType": "image/png", "size": len(png)},
        headers=team.h(team.ada),
    )
    upload = started.json()
    await client.request(upload["method"], upload["uploadUrl"], content=png, headers=upload["headers"])
    message = await send(client, team, team.ada, chat, SECRET, attachmentId=upload["attachmentId"])
    await client.post(
        f"/api/chats/{chat['chatId']}/messages/{message['messageId']}/reactions",
        json={"emoji": "🚀"},
        headers=team.h(team.bob),
    )
    return {
        "workspaceId": str(team.workspace),
        "chatId": chat["chatId"],
        "messageId": message["messageId"],
        "attachmentId": upload["attachmentId"],
        "userId": team.id(team.bob),
        "memberId": team.id(team.cy),
    }


def _calls(outsider_is_member: bool) -> dict[tuple[str, str], Probe]:
    ws_refused = not outsider_is_member  # a member of the workspace may list and search her own chats
    return {
        ("POST", "/api/chats"): Probe(
            refused=ws_refused,
            statuses=(404, 422),
            body={"workspaceId": "{workspaceId}", "type": "DM", "participantIds": ["{userId}"]},
        ),
        ("GET", "/api/chats"): Probe(refused=ws_refused, query={"workspaceId": "{workspaceId}"}),
        ("GET", "/api/chats/search"): Probe(
            refused=ws_refused, query={"workspaceId": "{workspaceId}", "q": "launch"}
        ),
        ("GET", "/api/chats/presence"): Probe(refused=ws_refused, query={"workspaceId": "{workspaceId}"}),
        ("GET", "/api/chats/{chatId}"): Probe(),
        ("PATCH", "/api/chats/{chatId}"): Probe(body={"name": "Taken over"}),
        ("DELETE", "/api/chats/{chatId}"): Probe(),
        ("POST", "/api/chats/{chatId}/participants"): Probe(body={"userIds": ["{memberId}"]}),
        ("DELETE", "/api/chats/{chatId}/participants/{userId}"): Probe(),
        ("GET", "/api/chats/{chatId}/messages"): Probe(),
        ("POST", "/api/chats/{chatId}/messages"): Probe(body={"content": "hi"}),
        ("PATCH", "/api/chats/{chatId}/messages/{messageId}"): Probe(body={"content": "changed"}),
        ("DELETE", "/api/chats/{chatId}/messages/{messageId}"): Probe(),
        ("GET", "/api/chats/{chatId}/messages/{messageId}/edits"): Probe(),
        ("POST", "/api/chats/{chatId}/messages/{messageId}/reactions"): Probe(body={"emoji": "👎"}),
        ("DELETE", "/api/chats/{chatId}/messages/{messageId}/reactions"): Probe(body={"emoji": "🚀"}),
        ("POST", "/api/chats/{chatId}/read"): Probe(body={"seq": 1}),
        ("POST", "/api/chats/{chatId}/attachments"): Probe(
            body={"fileName": "x.png", "contentType": "image/png", "size": 10}
        ),
        ("GET", "/api/chats/{chatId}/attachments/{attachmentId}/download"): Probe(),
    }


@pytest.mark.parametrize("who", ["stranger", "member-not-in-the-chat"])
async def test_nobody_outside_a_chat_sees_or_changes_it(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, team: Team, who: str
) -> None:
    ids = await _arrange(wealist_client, team)
    outsider = team.stranger if who == "stranger" else team.cy
    calls = _calls(outsider_is_member=who != "stranger")
    answers = await probe_routes(
        wealist_app,
        wealist_client,
        plugin="chat",
        calls=calls,
        ids=ids,
        headers=team.h(outsider),
        secrets=[SECRET, "Hidden plans"],
    )
    for key, answer in answers.items():
        if not calls[key].refused:  # her own lists: none of the chat's ids
            assert ids["chatId"] not in answer.text and ids["messageId"] not in answer.text, key
    # The chat is as it was.
    chat = (await wealist_client.get(f"/api/chats/{ids['chatId']}", headers=team.h(team.ada))).json()
    assert chat["name"] == "Hidden plans" and chat["lastSeq"] == 1
    assert {p["userId"] for p in chat["participants"]} == {team.id(team.ada), team.id(team.bob)}
    [message] = (
        await wealist_client.get(f"/api/chats/{ids['chatId']}/messages", headers=team.h(team.ada))
    ).json()["items"]
    assert message["content"] == SECRET and message["editedAt"] is None and message["deletedAt"] is None
    assert message["reactions"] == [{"emoji": "🚀", "count": 1, "userIds": [team.id(team.bob)]}]


async def test_every_chat_route_needs_a_token(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient
) -> None:
    await assert_routes_need_a_token(wealist_app, wealist_client, plugin="chat")
