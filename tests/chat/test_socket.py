"""The chat socket over real sockets: AUTH, SUBSCRIBE, MESSAGE, RESUME, typing, reads, presence, bad frames.

The application is served by uvicorn on a loopback port; embedded backend unless marked for both.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence

import httpx
import pytest
from wealist_plugins.chat.contract import MessageCreated
from wealist_plugins.user.contract import MemberRemoved, Role
from wealist_plugins.user.testing import InMemoryDirectory

from tests.chat.conftest import Team, group
from tests.chat.sockets import WAIT, signed_in
from tests.support.processes import serving
from wealist_core import Settings
from wealist_core.testing import EventRecorder, build_app, headers_for, on_both_backends, plugin_named


@pytest.fixture
async def base(wealist_settings: Settings, wealist_plugins: Sequence[object]) -> AsyncIterator[str]:
    app = build_app(wealist_settings, wealist_plugins, record=False)
    async with serving(app) as url:
        yield url


@pytest.fixture
async def http(base: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base, timeout=WAIT) as client:
        yield client


async def post_message(http: httpx.AsyncClient, team: Team, who: object, chat: dict, content: str) -> dict:
    answer = await http.post(
        f"/api/chats/{chat['chatId']}/messages", json={"content": content}, headers=team.h(who)
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


@on_both_backends
async def test_a_message_reaches_every_participant_and_nobody_else(
    base: str, http: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(http, team, team.bob)
    async with (
        signed_in(base, team.ada.user_id) as ada,
        signed_in(base, team.bob.user_id) as bob,
        signed_in(base, team.cy.user_id) as cy,
        signed_in(base, team.stranger.user_id) as stranger,
    ):
        await ada.send("MESSAGE", chatId=chat["chatId"], content="hello 👋", clientId="c1")
        # The answer and the room's frame may arrive in either order.
        frames = {f["type"]: f for f in [await ada.expect_any(), await ada.expect_any()]}
        ack, received = frames["MESSAGE_ACK"], frames["MESSAGE_RECEIVED"]
        assert ack["seq"] == 1 and ack["clientId"] == "c1"
        assert received["type"] == "MESSAGE_RECEIVED" and received["message"]["content"] == "hello 👋"
        got = await bob.expect("MESSAGE_RECEIVED")
        assert (
            got["chatId"] == chat["chatId"]
            and got["seq"] == 1
            and got["message"]["senderId"] == str(team.ada.user_id)
        )
        # Over HTTP too, persisted first.
        await post_message(http, team, team.bob, chat, "second")
        assert (await bob.expect("MESSAGE_RECEIVED"))["seq"] == 2
        # Cy (same workspace, not in the chat) and the stranger received nothing.
        assert [f for f in await cy.synced() if f["type"] != "USER_STATUS"] == []
        assert await stranger.synced() == []
        # A message to a chat one is not in: an error frame, and the socket goes on.
        assert await cy.ask("MESSAGE", chatId=chat["chatId"], content="let me in") == {
            "type": "ERROR",
            "code": "CHAT_NOT_FOUND",
            "message": f"No chat {chat['chatId']} of yours.",
        }
        refused = await stranger.ask("SUBSCRIBE", chatIds=[chat["chatId"]])
        assert refused["type"] == "ERROR" and refused["code"] == "CHAT_NOT_FOUND"
        assert await stranger.synced() == []


async def test_bad_frames_get_error_codes_and_the_socket_stays_usable(
    base: str, http: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(http, team, team.bob)
    async with signed_in(base, team.ada.user_id) as ada:
        await ada.ws.send("not json")
        assert (await ada.expect_any())["code"] == "FRAME_MALFORMED"
        assert (await ada.ask("SHOUT", chatId=chat["chatId"]))["code"] == "FRAME_UNKNOWN"
        assert (await ada.ask("MESSAGE", chatId=chat["chatId"], content="  "))["code"] == "MESSAGE_EMPTY"
        assert (await ada.ask("MESSAGE", chatId=chat["chatId"], content="x" * 4001))[
            "code"
        ] == "MESSAGE_TOO_LONG"
        assert (await ada.ask("MESSAGE", chatId="nope", content="x"))["code"] == "FRAME_INVALID"
        assert (await ada.ask("READ_MESSAGE", chatId=chat["chatId"], seq=42))["code"] == "SEQ_UNKNOWN"
        assert await ada.ask("PING") == {"type": "PONG"}
        history = await http.get(f"/api/chats/{chat['chatId']}/messages", headers=team.h(team.ada))
        assert history.json()["items"] == []  # nothing half-written


@on_both_backends
async def test_resume_replays_exactly_what_was_missed(base: str, http: httpx.AsyncClient, team: Team) -> None:
    chat = await group(http, team, team.bob)
    other = await group(http, team, team.bob, name="Other")
    for text in ("one", "two"):
        await post_message(http, team, team.ada, chat, text)
    # Bob saw up to 1 here and nothing of the other chat; while away, more arrives.
    for text in ("three", "four"):
        await post_message(http, team, team.ada, chat, text)
    await post_message(http, team, team.ada, other, "elsewhere")
    async with signed_in(base, team.bob.user_id, subscribe=False) as bob:
        await bob.send("RESUME", cursors={chat["chatId"]: 1, other["chatId"]: 0})
        frames = [await bob.expect("MESSAGE_RECEIVED") for _ in range(4)]
        per_chat = {(f["chatId"], f["seq"], f["message"]["content"]) for f in frames}
        assert per_chat == {
            (chat["chatId"], 2, "two"),
            (chat["chatId"], 3, "three"),
            (chat["chatId"], 4, "four"),
            (other["chatId"], 1, "elsewhere"),
        }
        assert [f["seq"] for f in frames if f["chatId"] == chat["chatId"]] == [2, 3, 4]
        # Live after the replay, no duplicate.
        await post_message(http, team, team.ada, chat, "five")
        assert (await bob.expect("MESSAGE_RECEIVED"))["seq"] == 5
        assert await bob.synced() == []
        # A sequence that does not exist: an error, the socket goes on.
        await bob.send("RESUME", cursors={chat["chatId"]: 99})
        error = await bob.expect("ERROR")
        assert error["code"] == "SEQ_UNKNOWN"
        assert await bob.ask("PING") == {"type": "PONG"}


async def test_typing_and_read_receipts_reach_the_room(
    base: str, http: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(http, team, team.bob)
    await post_message(http, team, team.ada, chat, "read me")
    async with signed_in(base, team.ada.user_id) as ada, signed_in(base, team.bob.user_id) as bob:
        await bob.send("TYPING_START", chatId=chat["chatId"])
        assert await ada.expect("USER_TYPING") == {
            "type": "USER_TYPING",
            "chatId": chat["chatId"],
            "userId": str(team.bob.user_id),
        }
        await bob.send("TYPING_STOP", chatId=chat["chatId"])
        assert (await ada.expect("USER_TYPING_STOP"))["userId"] == str(team.bob.user_id)
        await bob.send("READ_MESSAGE", chatId=chat["chatId"], seq=1)
        assert await ada.expect("MESSAGE_READ") == {
            "type": "MESSAGE_READ",
            "chatId": chat["chatId"],
            "userId": str(team.bob.user_id),
            "seq": 1,
        }
        listed = (await http.get(f"/api/chats?workspaceId={team.workspace}", headers=team.h(team.bob))).json()
        assert listed["items"][0]["unreadCount"] == 0


async def test_someone_removed_from_a_chat_receives_nothing_more_of_it(
    base: str, http: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(http, team, team.bob, team.cy)
    async with signed_in(base, team.cy.user_id) as cy:
        removed = await http.delete(
            f"/api/chats/{chat['chatId']}/participants/{team.cy.user_id}", headers=team.h(team.ada)
        )
        assert removed.status_code == 204
        while (frame := await cy.expect_any())["type"] != "CHAT_LEFT":
            assert frame["type"] == "PARTICIPANTS_REMOVED", frame
        await post_message(http, team, team.ada, chat, "after Cy left")
        await cy.send("TYPING_START", chatId=chat["chatId"])
        assert (await cy.expect("ERROR"))["code"] == "CHAT_NOT_FOUND"
        assert [f for f in await cy.synced() if f["type"] == "MESSAGE_RECEIVED"] == []
        # Added to a new chat: followed at once.
        new = await group(http, team, team.cy, name="Fresh")
        assert (await cy.expect("CHAT_JOINED"))["chatId"] == new["chatId"]
        await post_message(http, team, team.ada, new, "welcome")
        assert (await cy.expect("MESSAGE_RECEIVED"))["message"]["content"] == "welcome"


@on_both_backends
async def test_presence_counts_several_tabs_once_and_is_pushed_to_the_workspace(
    base: str, http: httpx.AsyncClient, team: Team
) -> None:
    async def status_of(user: uuid.UUID) -> str:
        answer = await http.get(f"/api/chats/presence?workspaceId={team.workspace}", headers=team.h(team.ada))
        return {p["userId"]: p["status"] for p in answer.json()}[str(user)]

    bob_id = str(team.bob.user_id)
    async with signed_in(base, team.ada.user_id) as ada:
        async with signed_in(base, team.bob.user_id) as tab1:
            assert await ada.expect("USER_STATUS") == {
                "type": "USER_STATUS",
                "userId": bob_id,
                "status": "ONLINE",
                "workspaceId": str(team.workspace),
            }
            async with signed_in(base, team.bob.user_id):
                assert await status_of(team.bob.user_id) == "ONLINE"
            await tab1.send("STATUS", status="AWAY")
            assert (await ada.expect("USER_STATUS"))["status"] == "AWAY"  # one tab closed: no OFFLINE before
            assert await status_of(team.bob.user_id) == "AWAY"
        assert (await ada.expect("USER_STATUS"))["status"] == "OFFLINE"
        assert await status_of(team.bob.user_id) == "OFFLINE"
        [bob] = [
            p
            for p in (
                await http.get(f"/api/chats/presence?workspaceId={team.workspace}", headers=team.h(team.ada))
            ).json()
            if p["userId"] == bob_id
        ]
        assert bob["lastSeenAt"] is not None
        stranger = await http.get(
            f"/api/chats/presence?workspaceId={team.workspace}", headers=headers_for(team.stranger.user_id)
        )
        assert stranger.status_code == 404
        async with signed_in(base, team.stranger.user_id) as sam:
            assert await sam.synced() == []  # nothing of the other workspace's presence


@on_both_backends
async def test_recipients_with_a_socket_open_are_not_offline(
    wealist_settings: Settings, wealist_plugins: Sequence[object], team: Team
) -> None:
    events = EventRecorder.of_plugins(["chat"])
    app = build_app(wealist_settings, [*wealist_plugins, events], record=False)
    async with serving(app) as base, httpx.AsyncClient(base_url=base, timeout=WAIT) as http:
        chat = await group(http, team, team.bob, team.cy)
        async with signed_in(base, team.bob.user_id):
            sent = await post_message(http, team, team.ada, chat, "who is here?")
        event = await events.wait_for(MessageCreated, message_id=uuid.UUID(sent["messageId"]))
        assert set(event.recipient_ids) == {team.bob.user_id, team.cy.user_id}
        assert event.offline_recipient_ids == [team.cy.user_id]


@on_both_backends
async def test_resume_replays_edits_deletes_and_reactions_made_while_away(
    base: str, http: httpx.AsyncClient, team: Team
) -> None:
    chat = await group(http, team, team.bob)
    first = await post_message(http, team, team.ada, chat, "first")
    second = await post_message(http, team, team.ada, chat, "second")
    third = await post_message(http, team, team.ada, chat, "third")
    seen = (await http.get(f"/api/chats/{chat['chatId']}", headers=team.h(team.bob))).json()
    assert seen["lastSeq"] == 3 and seen["lastChange"] == 0
    # Bob goes away having seen everything; meanwhile:
    path = f"/api/chats/{chat['chatId']}/messages"
    await http.patch(
        f"{path}/{first['messageId']}", json={"content": "first, edited"}, headers=team.h(team.ada)
    )
    await http.delete(f"{path}/{second['messageId']}", headers=team.h(team.ada))
    await http.post(f"{path}/{third['messageId']}/reactions", json={"emoji": "🎉"}, headers=team.h(team.ada))
    new = await post_message(http, team, team.ada, chat, "fourth")
    async with signed_in(base, team.bob.user_id, subscribe=False) as bob:
        await bob.send("RESUME", cursors={chat["chatId"]: 3}, changes={chat["chatId"]: 0})
        frames = [await bob.expect_any() for _ in range(4)]
        assert [(f["type"], f["seq"]) for f in frames] == [
            ("MESSAGE_RECEIVED", new["seq"]),
            ("MESSAGE_UPDATED", 1),
            ("MESSAGE_DELETED", 2),
            ("MESSAGE_UPDATED", 3),
        ]
        assert frames[1]["message"]["content"] == "first, edited" and frames[1]["changeSeq"] == 1
        assert frames[2]["messageId"] == second["messageId"]
        assert frames[3]["message"]["reactions"][0]["emoji"] == "🎉" and frames[3]["changeSeq"] == 3
        assert await bob.synced() == []
        # Live changes carry their changeSeq too.
        await http.patch(
            f"{path}/{third['messageId']}", json={"content": "third, edited"}, headers=team.h(team.ada)
        )
        live = await bob.expect("MESSAGE_UPDATED")
        assert live["changeSeq"] == 4 and live["message"]["content"] == "third, edited"
        await bob.send("RESUME", cursors={chat["chatId"]: 4}, changes={chat["chatId"]: 99})
        assert (await bob.expect("ERROR"))["code"] == "SEQ_UNKNOWN"
        await http.delete(f"{path}/{first['messageId']}", headers=team.h(team.ada))
        assert (await bob.expect("MESSAGE_DELETED"))["changeSeq"] == 5  # still followed after the refusal


async def test_someone_removed_from_the_workspace_no_longer_sees_its_presence(
    wealist_settings: Settings, wealist_plugins: Sequence[object], directory: InMemoryDirectory, team: Team
) -> None:
    app = build_app(wealist_settings, wealist_plugins, record=False)
    async with serving(app) as base, signed_in(base, team.cy.user_id) as cy:
        async with signed_in(base, team.bob.user_id):
            assert (await cy.expect("USER_STATUS"))["userId"] == str(team.bob.user_id)
        assert (await cy.expect("USER_STATUS"))["status"] == "OFFLINE"
        directory.remove_member(team.workspace, team.cy.user_id)
        await plugin_named(app, "chat").on_member_removed(  # type: ignore[attr-defined]
            MemberRemoved(
                workspace_id=team.workspace,
                workspace_name="Apollo",
                user_id=team.cy.user_id,
                user_name="Cy",
                role=Role.MEMBER,
                actor_id=team.owner.user_id,
                actor_name="Olga",
                reason="REMOVED",
            )
        )
        await cy.synced()  # the control message has been handled once Cy's next frame is answered
        async with signed_in(base, team.bob.user_id):
            pass
        async with signed_in(base, team.ada.user_id):
            pass
        assert await cy.synced() == []
