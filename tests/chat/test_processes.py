"""The split shape on PostgreSQL and Redis: the user plugin in one process, chat in two more. A message
sent to one chat process reaches a socket held by the other; a socket that reconnects to the other process
resumes what it missed there."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.chat.sockets import WAIT, signed_in
from tests.support.processes import ServerProcess, start_wealist, wealist_env
from wealist_core.testing import headers_for

pytestmark = [pytest.mark.slow, pytest.mark.redis]

TEST_AUTH = "wealist_core.testing.auth:TestAuthPlugin"
USER = "wealist_plugins.user.plugin:UserPlugin"
CHAT = "wealist_plugins.chat.plugin:ChatPlugin"
SERVICE_TOKEN = "chat-split-test-service-token"


@pytest.fixture
def split(postgres_url: str, redis_url: str, tmp_path: Path) -> Iterator[list[ServerProcess]]:
    shared = {
        "WEALIST_DATABASE_URL": postgres_url,
        "WEALIST_EVENTBUS_URL": redis_url,
        "WEALIST_PUBSUB_URL": redis_url,
        "WEALIST_KEYVALUE_URL": redis_url,
        "WEALIST_AUTO_MIGRATE": "true",
        "WEALIST_SERVICE_TOKEN": SERVICE_TOKEN,
    }
    started: list[ServerProcess] = []
    try:
        user = start_wealist(
            "user",
            wealist_env(
                {**shared, "WEALIST_PLUGIN_MODULES": f"{USER},{TEST_AUTH}"}, data_dir=tmp_path / "user"
            ),
            log_dir=tmp_path,
        )
        started.append(user)
        for name in ("chat-1", "chat-2"):
            env = {**shared, "WEALIST_PLUGIN_MODULES": f"{CHAT},{TEST_AUTH}", "WEALIST_PEERS__USER": user.url}
            started.append(start_wealist(name, wealist_env(env, data_dir=tmp_path / name), log_dir=tmp_path))
        yield started
    finally:
        for process in reversed(started):
            process.stop()


async def _person(http: httpx.AsyncClient, name: str) -> uuid.UUID:
    user_id = uuid.uuid4()
    answer = await http.post(
        "/internal/user/Directory/create_user",
        json={"args": {"user_id": str(user_id), "email": f"{user_id.hex}@example.com", "name": name}},
        headers={"Authorization": f"Bearer {SERVICE_TOKEN}"},
    )
    assert answer.status_code == 200, answer.text
    return user_id


async def test_a_message_sent_to_one_chat_process_reaches_a_socket_of_the_other(
    split: list[ServerProcess],
) -> None:
    user, chat_1, chat_2 = split
    async with (
        httpx.AsyncClient(base_url=user.url, timeout=WAIT) as users,
        httpx.AsyncClient(base_url=chat_1.url, timeout=WAIT) as one,
        httpx.AsyncClient(base_url=chat_2.url, timeout=WAIT) as two,
    ):
        ada, bob = await _person(users, "Ada"), await _person(users, "Bob")
        space = await users.post("/api/workspaces", json={"name": "Apollo"}, headers=headers_for(ada))
        assert space.status_code == 201, space.text
        workspace = space.json()["workspaceId"]
        invited = await users.post(
            f"/api/workspaces/{workspace}/invitations",
            json={"email": f"{bob.hex}@example.com"},
            headers=headers_for(ada),
        )
        assert invited.json()["status"] == "ADDED", invited.text
        chat = await one.post(
            "/api/chats",
            json={"workspaceId": workspace, "type": "DM", "participantIds": [str(bob)]},
            headers=headers_for(ada),
        )
        assert chat.status_code == 201, chat.text
        chat_id = chat.json()["chatId"]

        async with signed_in(chat_2.url, bob) as bob_socket:
            sent = await one.post(
                f"/api/chats/{chat_id}/messages", json={"content": "over there"}, headers=headers_for(ada)
            )
            assert sent.status_code == 201, sent.text
            got = await bob_socket.expect("MESSAGE_RECEIVED")
            assert got["message"]["content"] == "over there" and got["seq"] == 1
            # And the other way: a frame sent on process 2's socket reaches a socket of process 1.
            async with signed_in(chat_1.url, ada) as ada_socket:
                await bob_socket.send("MESSAGE", chatId=chat_id, content="back to you")
                got = await ada_socket.expect("MESSAGE_RECEIVED")
                assert got["message"]["content"] == "back to you" and got["seq"] == 2
                # Presence is shared: Bob, connected to process 2, is online as process 1 sees it.
                presence = await one.get(
                    f"/api/chats/presence?workspaceId={workspace}", headers=headers_for(ada)
                )
                assert {p["userId"]: p["status"] for p in presence.json()}[str(bob)] == "ONLINE"

        # Bob away; Ada writes through process 2; Bob comes back on process 1 and resumes from seq 2.
        for text in ("while", "away"):
            await two.post(f"/api/chats/{chat_id}/messages", json={"content": text}, headers=headers_for(ada))
        async with signed_in(chat_1.url, bob, subscribe=False) as bob_again:
            await bob_again.send("RESUME", cursors={chat_id: 2})
            frames = [await bob_again.expect("MESSAGE_RECEIVED") for _ in range(2)]
            assert [(f["seq"], f["message"]["content"]) for f in frames] == [(3, "while"), (4, "away")]
            assert await bob_again.synced() == []
