"""Messages: sequence numbers, threads, reactions, edits, deletes, attachments, history, reads, search."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from wealist_plugins.chat.contract import MessageCreated

from tests.chat.conftest import Team, create_chat, group, send
from wealist_core.testing import EventRecorder, assert_problem, on_both_backends


@on_both_backends
async def test_concurrent_senders_get_distinct_consecutive_sequence_numbers(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob, team.cy)
    senders = [team.ada, team.bob, team.cy] * 6
    sent = await asyncio.gather(
        *(send(wealist_client, team, who, chat, f"m{i}") for i, who in enumerate(senders))
    )
    assert sorted(m["seq"] for m in sent) == list(range(1, len(senders) + 1))
    history = await wealist_client.get(
        f"/api/chats/{chat['chatId']}/messages?limit=100", headers=team.h(team.bob)
    )
    assert [m["seq"] for m in history.json()["items"]] == list(range(1, len(senders) + 1))


async def test_history_pages_backwards_and_forwards_by_sequence(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    for i in range(1, 8):
        await send(wealist_client, team, team.ada, chat, f"m{i}")
    path = f"/api/chats/{chat['chatId']}/messages"
    latest = (await wealist_client.get(f"{path}?limit=3", headers=team.h(team.bob))).json()
    assert [m["content"] for m in latest["items"]] == ["m5", "m6", "m7"]
    assert latest["hasMoreBefore"] and not latest["hasMoreAfter"]
    before = (await wealist_client.get(f"{path}?limit=3&before=5", headers=team.h(team.bob))).json()
    assert (
        [m["seq"] for m in before["items"]] == [2, 3, 4]
        and before["hasMoreBefore"]
        and before["hasMoreAfter"]
    )
    after = (await wealist_client.get(f"{path}?limit=3&after=4", headers=team.h(team.bob))).json()
    assert (
        [m["seq"] for m in after["items"]] == [5, 6, 7]
        and not after["hasMoreAfter"]
        and after["hasMoreBefore"]
    )
    both = await wealist_client.get(f"{path}?before=3&after=1", headers=team.h(team.bob))
    assert_problem(both, 422, "HISTORY_BOTH_WAYS")


async def test_empty_over_long_and_misdirected_messages_are_refused(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    path = f"/api/chats/{chat['chatId']}/messages"
    empty = await wealist_client.post(path, json={"content": "   "}, headers=team.h(team.ada))
    assert assert_problem(empty, 422, "MESSAGE_EMPTY")["errors"][0]["field"] == "body.content"
    long = await wealist_client.post(path, json={"content": "가" * 4001}, headers=team.h(team.ada))
    assert_problem(long, 422, "MESSAGE_TOO_LONG")
    outsider = await wealist_client.post(path, json={"content": "hi"}, headers=team.h(team.cy))
    assert_problem(outsider, 404, "CHAT_NOT_FOUND")
    stranger = await wealist_client.post(path, json={"content": "hi"}, headers=team.h(team.stranger))
    assert_problem(stranger, 404, "CHAT_NOT_FOUND")
    history = (await wealist_client.get(path, headers=team.h(team.ada))).json()
    assert history["items"] == []


async def test_a_client_id_sent_twice_stores_one_message(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    path = f"/api/chats/{chat['chatId']}/messages"
    first = await wealist_client.post(
        path, json={"content": "once", "clientId": "c-1"}, headers=team.h(team.ada)
    )
    again = await wealist_client.post(
        path, json={"content": "once", "clientId": "c-1"}, headers=team.h(team.ada)
    )
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["messageId"] == first.json()["messageId"]
    assert len((await wealist_client.get(path, headers=team.h(team.ada))).json()["items"]) == 1


async def test_replies_form_a_thread(wealist_client: httpx.AsyncClient, team: Team) -> None:
    chat = await group(wealist_client, team, team.bob)
    root = await send(wealist_client, team, team.ada, chat, "root")
    reply = await send(wealist_client, team, team.bob, chat, "reply", replyToId=root["messageId"])
    deeper = await send(wealist_client, team, team.ada, chat, "deeper", replyToId=reply["messageId"])
    assert deeper["replyToId"] == root["messageId"]  # one level, as in Slack
    thread = await wealist_client.get(
        f"/api/chats/{chat['chatId']}/messages?replyToId={root['messageId']}", headers=team.h(team.bob)
    )
    items = thread.json()["items"]
    assert [m["content"] for m in items] == ["root", "reply", "deeper"] and items[0]["replyCount"] == 2
    elsewhere = await group(wealist_client, team, team.bob, name="Other")
    wrong = await wealist_client.post(
        f"/api/chats/{elsewhere['chatId']}/messages",
        json={"content": "x", "replyToId": root["messageId"]},
        headers=team.h(team.ada),
    )
    assert_problem(wrong, 422, "REPLY_TARGET_NOT_FOUND")


async def test_reactions_edits_and_deletes(wealist_client: httpx.AsyncClient, team: Team) -> None:
    chat = await group(wealist_client, team, team.bob)
    message = await send(wealist_client, team, team.ada, chat, "first text")
    path = f"/api/chats/{chat['chatId']}/messages/{message['messageId']}"
    for who in (team.ada, team.bob, team.bob):
        answer = await wealist_client.post(f"{path}/reactions", json={"emoji": "👍"}, headers=team.h(who))
    assert answer.json()["reactions"] == [
        {"emoji": "👍", "count": 2, "userIds": [team.id(team.ada), team.id(team.bob)]}
    ]
    taken = await wealist_client.request(
        "DELETE", f"{path}/reactions", json={"emoji": "👍"}, headers=team.h(team.bob)
    )
    assert taken.json()["reactions"][0]["count"] == 1

    assert_problem(
        await wealist_client.patch(path, json={"content": "mine"}, headers=team.h(team.bob)),
        403,
        "NOT_MESSAGE_AUTHOR",
    )
    edited = await wealist_client.patch(path, json={"content": "second text"}, headers=team.h(team.ada))
    assert edited.json()["content"] == "second text" and edited.json()["editedAt"] is not None
    edits = await wealist_client.get(f"{path}/edits", headers=team.h(team.bob))
    assert [e["content"] for e in edits.json()] == ["first text"]

    assert_problem(await wealist_client.delete(path, headers=team.h(team.bob)), 403, "NOT_MESSAGE_AUTHOR")
    assert (await wealist_client.delete(path, headers=team.h(team.ada))).status_code == 204
    [gone] = (
        await wealist_client.get(f"/api/chats/{chat['chatId']}/messages", headers=team.h(team.bob))
    ).json()["items"]
    assert gone["deletedAt"] is not None and gone["content"] == "" and gone["seq"] == message["seq"]
    assert (await wealist_client.get(f"{path}/edits", headers=team.h(team.bob))).json() == []
    assert_problem(
        await wealist_client.patch(path, json={"content": "back"}, headers=team.h(team.ada)),
        409,
        "MESSAGE_DELETED",
    )


async def test_the_chat_admin_may_delete_anyones_message(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    message = await send(wealist_client, team, team.bob, chat, "oops")
    answer = await wealist_client.delete(
        f"/api/chats/{chat['chatId']}/messages/{message['messageId']}", headers=team.h(team.ada)
    )
    assert answer.status_code == 204


async def test_an_image_is_sent_through_the_upload_flow(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    png = b"\x89PNG\r\n\x1a\n" + b"\0" * 64
    started = await wealist_client.post(
        f"/api/chats/{chat['chatId']}/attachments",
        json={"fileName": "shot.png", "contentType": "image/png", "size": len(png)},
        headers=team.h(team.ada),
    )
    assert started.status_code == 201, started.text
    upload = started.json()
    put = await wealist_client.request(
        upload["method"], upload["uploadUrl"], content=png, headers=upload["headers"]
    )
    assert put.status_code in (200, 201, 204), put.text
    sent = await send(wealist_client, team, team.ada, chat, "", attachmentId=upload["attachmentId"])
    assert sent["attachment"] == {
        "attachmentId": upload["attachmentId"],
        "fileName": "shot.png",
        "contentType": "image/png",
        "size": len(png),
    }
    link = await wealist_client.get(
        f"/api/chats/{chat['chatId']}/attachments/{upload['attachmentId']}/download", headers=team.h(team.bob)
    )
    assert link.status_code == 200, link.text
    fetched = await wealist_client.get(link.json()["url"])
    assert fetched.status_code == 200 and fetched.content == png
    # Bob cannot send Ada's upload as his own.
    theft = await wealist_client.post(
        f"/api/chats/{chat['chatId']}/messages",
        json={"attachmentId": upload["attachmentId"]},
        headers=team.h(team.bob),
    )
    assert_problem(theft, 403, "UPLOAD_NOT_YOURS")
    exe = await wealist_client.post(
        f"/api/chats/{chat['chatId']}/attachments",
        json={"fileName": "setup.exe", "contentType": "application/x-msdownload", "size": 10},
        headers=team.h(team.ada),
    )
    assert_problem(exe, 422, "UPLOAD_TYPE_NOT_ALLOWED")


@on_both_backends
async def test_read_receipts_never_move_back_and_an_unknown_seq_is_refused(
    wealist_client: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob)
    for text in ("a", "b", "c"):
        await send(wealist_client, team, team.ada, chat, text)
    path = f"/api/chats/{chat['chatId']}/read"
    assert (await wealist_client.post(path, json={"seq": 3}, headers=team.h(team.bob))).json()[
        "lastReadSeq"
    ] == 3
    assert (await wealist_client.post(path, json={"seq": 1}, headers=team.h(team.bob))).json()[
        "lastReadSeq"
    ] == 3
    assert_problem(
        await wealist_client.post(path, json={"seq": 99}, headers=team.h(team.bob)), 422, "SEQ_UNKNOWN"
    )
    chat_out = (await wealist_client.get(f"/api/chats/{chat['chatId']}", headers=team.h(team.ada))).json()
    assert {p["userId"]: p["lastReadSeq"] for p in chat_out["participants"]}[team.id(team.bob)] == 3


@on_both_backends
async def test_search_finds_words_in_my_chats_only(wealist_client: httpx.AsyncClient, team: Team) -> None:
    mine = await group(wealist_client, team, team.bob)
    theirs = await create_chat(
        wealist_client, team, team.bob, type="GROUP", name="Secret", participantIds=[team.id(team.cy)]
    )
    await send(wealist_client, team, team.ada, mine, "The release is planned for Friday")
    await send(wealist_client, team, team.ada, mine, "배포 일정은 금요일입니다")
    await send(wealist_client, team, team.bob, theirs, "release notes nobody else may read")
    edited = await send(wealist_client, team, team.ada, mine, "nothing here")
    await wealist_client.patch(
        f"/api/chats/{mine['chatId']}/messages/{edited['messageId']}",
        json={"content": "release moved"},
        headers=team.h(team.ada),
    )
    found = await wealist_client.get(
        f"/api/chats/search?workspaceId={team.workspace}&q=releas", headers=team.h(team.ada)
    )
    assert sorted(m["content"] for m in found.json()["items"]) == [
        "The release is planned for Friday",
        "release moved",
    ]
    korean = await wealist_client.get(
        f"/api/chats/search?workspaceId={team.workspace}&q=배포", headers=team.h(team.ada)
    )
    assert [m["content"] for m in korean.json()["items"]] == ["배포 일정은 금요일입니다"]
    stranger = await wealist_client.get(
        f"/api/chats/search?workspaceId={team.workspace}&q=release", headers=team.h(team.stranger)
    )
    assert_problem(stranger, 404, "WORKSPACE_NOT_FOUND")


@on_both_backends
async def test_a_message_announces_its_mentions_and_offline_recipients(
    wealist_client: httpx.AsyncClient, wealist_events: EventRecorder, team: Team
) -> None:
    chat = await group(wealist_client, team, team.bob, team.cy)
    outsider = uuid.uuid4()
    text = f"@[Bob]({team.id(team.bob)}) look, and @{outsider}"
    sent = await send(wealist_client, team, team.ada, chat, text)
    event = await wealist_events.wait_for(MessageCreated, message_id=uuid.UUID(sent["messageId"]))
    assert event.mentioned_user_ids == [team.bob.user_id]  # not someone outside the chat
    assert set(event.recipient_ids) == {team.bob.user_id, team.cy.user_id}
    assert set(event.offline_recipient_ids) == {team.bob.user_id, team.cy.user_id}  # no socket open
    assert event.sender_name == "에이다"  # her name in this workspace
    assert event.chat_name == "Launch" and event.seq == 1
    assert event.preview.startswith("@[Bob]")
