"""Rooms as members use them: create, list, join (tokens, ICE servers), leave, end, on a LiveKit server that
speaks RoomService's protocol; the flow that matters most runs on SQLite and on PostgreSQL + Redis."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import time
import uuid

import httpx
import jwt
from livekit.protocol import room as proto_room
from starlette.applications import Starlette
from wealist_plugins.user.contract import Role
from wealist_plugins.user.testing import InMemoryDirectory
from wealist_plugins.video.contract import CallEnded, CallStarted

from tests.video.conftest import TURN_SECRET, LiveKitServer, Team, create_room
from wealist_core.testing import EventRecorder, assert_problem, on_both_backends


def _claims(token: str, livekit: LiveKitServer) -> dict:
    return jwt.decode(token, livekit.fake.api_secret, algorithms=["HS256"], issuer=livekit.fake.api_key)


@on_both_backends
async def test_a_call_from_creation_to_history(
    wealist_client: httpx.AsyncClient,
    wealist_events: EventRecorder,
    wealist_app: Starlette,
    livekit: LiveKitServer,
    team: Team,
) -> None:
    chat = uuid.uuid4()
    room = await create_room(wealist_client, team, chatId=str(chat))
    assert room["capacity"] == 10 and room["status"] == "ACTIVE" and room["participants"] == []
    assert room["createdBy"] == str(team.ada.user_id) and room["chatId"] == str(chat)
    room_id = room["roomId"]
    created = livekit.fake.calls[-1]
    assert created.method == "CreateRoom" and isinstance(created.request, proto_room.CreateRoomRequest)
    assert livekit.fake.rooms[room_id].max_participants == 10
    started = await wealist_events.wait_for(CallStarted, room_id=uuid.UUID(room_id))
    assert started.chat_id == chat and started.started_by == team.ada.user_id

    listed = await wealist_client.get(team.rooms_path, headers=team.h(team.bob))
    assert [r["roomId"] for r in listed.json()["items"]] == [room_id]

    joined = await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.ada))
    assert joined.status_code == 200, joined.text
    bob_join = await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.bob))
    livekit.fake.connect(joined.json()["token"])
    livekit.fake.connect(bob_join.json()["token"])
    for who in (team.ada, team.bob):
        body, headers = livekit.fake.webhook("participant_joined", room=room_id, identity=str(who.user_id))
        hook = await wealist_client.post("/api/video/webhooks/livekit", content=body, headers=headers)
        assert hook.status_code == 204, hook.text

    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.bob))).json()
    by_id = {p["userId"]: p for p in seen["participants"]}
    assert by_id[str(team.ada.user_id)]["name"] == "에이다" and by_id[str(team.bob.user_id)]["name"] == "Bob"
    assert all(p["connected"] and p["joinedAt"] for p in seen["participants"])
    kv = wealist_app.state.wealist.container.keyvalue("video")
    assert await kv.smembers(f"room:{room_id}:participants") == {str(team.ada.user_id), str(team.bob.user_id)}
    assert await kv.get(f"room:{room_id}:state") == "ACTIVE"

    # Bob leaves: LiveKit disconnects him and he is no longer listed.
    left = await wealist_client.post(f"/api/video/rooms/{room_id}/leave", headers=team.h(team.bob))
    assert left.status_code == 204
    assert str(team.bob.user_id) not in livekit.fake.participants[room_id]
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert [p["userId"] for p in seen["participants"]] == [str(team.ada.user_id)]

    ended = await wealist_client.delete(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))
    assert ended.status_code == 204, ended.text
    assert room_id not in livekit.fake.rooms and livekit.fake.methods()[-1] == "DeleteRoom"
    assert await kv.get(f"room:{room_id}:state") == "ENDED"
    finished = await wealist_events.wait_for(CallEnded, room_id=uuid.UUID(room_id))
    assert set(finished.participant_ids) == {team.ada.user_id, team.bob.user_id}

    listed = await wealist_client.get(team.rooms_path, headers=team.h(team.ada))
    assert listed.json()["items"] == []
    history = await wealist_client.get(team.history_path, headers=team.h(team.bob))
    [call] = history.json()["items"]
    assert call["roomId"] == room_id and call["callId"] == str(finished.call_id)
    started_at, ended_at = (dt.datetime.fromisoformat(call[k]) for k in ("startedAt", "endedAt"))
    assert started_at <= ended_at and call["durationSeconds"] == int((ended_at - started_at).total_seconds())
    assert {p["userId"] for p in call["participants"]} == {str(team.ada.user_id), str(team.bob.user_id)}
    assert all(p["joinedAt"] and p["leftAt"] for p in call["participants"])
    one = await wealist_client.get(f"/api/video/history/{call['callId']}", headers=team.h(team.owner))
    assert one.json() == call

    again = await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.ada))
    assert_problem(again, 410, "ROOM_ENDED")


async def test_a_join_token_is_for_that_room_and_that_member_only(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team, capacity=3)
    before = int(time.time())
    answer = await wealist_client.post(f"/api/video/rooms/{room['roomId']}/join", headers=team.h(team.ada))
    joined = answer.json()
    claims = _claims(joined["token"], livekit)
    assert claims["sub"] == str(team.ada.user_id) == joined["identity"]
    assert claims["name"] == "에이다"  # the workspace profile's nickname
    assert claims["video"] == {
        "roomJoin": True,
        "room": room["roomId"],
        "canPublish": True,
        "canSubscribe": True,
        "canPublishData": True,
    }
    assert claims["exp"] - claims["nbf"] == 3600 and claims["nbf"] >= before - 1
    assert joined["url"] == livekit.base.replace("http://", "ws://")
    assert joined["expiresAt"].startswith(time.strftime("%Y-%m-%d", time.gmtime(claims["exp"])))

    stun, turn = joined["iceServers"]
    assert stun == {"urls": ["stun:turn.example.com:3478"], "username": None, "credential": None}
    assert turn["urls"] == [
        "turn:turn.example.com:3478?transport=udp",
        "turns:turn.example.com:5349?transport=tcp",
    ]
    expiry, user = turn["username"].split(":")
    assert user == str(team.ada.user_id) and int(expiry) >= before + 86400 - 5
    expected = base64.b64encode(
        hmac.new(TURN_SECRET.encode(), turn["username"].encode(), hashlib.sha1).digest()
    )
    assert turn["credential"] == expected.decode()


async def test_rejoining_is_idempotent_and_a_full_room_is_409(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team, capacity=2)
    path = f"/api/video/rooms/{room['roomId']}/join"
    first = await wealist_client.post(path, headers=team.h(team.ada))
    second = await wealist_client.post(path, headers=team.h(team.ada))
    assert first.status_code == second.status_code == 200
    assert _claims(second.json()["token"], livekit)["sub"] == str(team.ada.user_id)
    seen = (await wealist_client.get(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))).json()
    assert len(seen["participants"]) == 1

    assert (await wealist_client.post(path, headers=team.h(team.bob))).status_code == 200
    full = await wealist_client.post(path, headers=team.h(team.owner))
    assert_problem(full, 409, "ROOM_FULL")
    # Someone leaving frees the seat.
    await wealist_client.post(f"/api/video/rooms/{room['roomId']}/leave", headers=team.h(team.bob))
    assert (await wealist_client.post(path, headers=team.h(team.owner))).status_code == 200


async def test_a_seat_granted_but_never_used_is_given_back_when_the_room_is_full(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    from sqlalchemy import select
    from wealist_plugins.video.models import Participation

    room = await create_room(wealist_client, team, capacity=2)
    path = f"/api/video/rooms/{room['roomId']}/join"
    ada = await wealist_client.post(path, headers=team.h(team.ada))
    livekit.fake.connect(ada.json()["token"])  # Ada is in the call; Bob took a seat and never came
    await wealist_client.post(path, headers=team.h(team.bob))
    async with wealist_app.state.wealist.container.database("video").unit_of_work() as uow:
        for stay in await uow.session.scalars(select(Participation)):
            stay.granted_at -= dt.timedelta(hours=1)
    assert (await wealist_client.post(path, headers=team.h(team.owner))).status_code == 200
    seen = (await wealist_client.get(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))).json()
    assert {p["userId"] for p in seen["participants"]} == {str(team.ada.user_id), str(team.owner.user_id)}


async def test_only_the_creator_or_an_admin_ends_a_call(
    wealist_client: httpx.AsyncClient, directory: InMemoryDirectory, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    path = f"/api/video/rooms/{room['roomId']}"
    assert_problem(await wealist_client.delete(path, headers=team.h(team.bob)), 403, "NOT_ROOM_CREATOR")
    assert room["roomId"] in livekit.fake.rooms
    assert (await wealist_client.delete(path, headers=team.h(team.owner))).status_code == 204
    assert_problem(await wealist_client.delete(path, headers=team.h(team.owner)), 410, "ROOM_ENDED")

    directory.add_member(team.workspace, team.bob.user_id, Role.ADMIN)
    other = await create_room(wealist_client, team)
    assert (
        await wealist_client.delete(f"/api/video/rooms/{other['roomId']}", headers=team.h(team.bob))
    ).status_code == 204


async def test_strangers_get_404_and_bad_rooms_422(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    for method, path in [
        ("GET", f"/api/video/rooms/{room['roomId']}"),
        ("POST", f"/api/video/rooms/{room['roomId']}/join"),
        ("POST", f"/api/video/rooms/{room['roomId']}/leave"),
        ("DELETE", f"/api/video/rooms/{room['roomId']}"),
        ("POST", f"/api/video/rooms/{uuid.uuid4()}/join"),
    ]:
        answer = await wealist_client.request(method, path, headers=team.h(team.stranger))
        assert_problem(answer, 404, "ROOM_NOT_FOUND")
    listed = await wealist_client.get(team.rooms_path, headers=team.h(team.stranger))
    assert_problem(listed, 404, "WORKSPACE_NOT_FOUND")
    assert len(livekit.fake.rooms) == 1

    for body, field in [
        ({"name": ""}, "body.name"),
        ({"name": "   "}, "body.name"),
        ({"name": "a\x00b"}, "body.name"),
        ({"capacity": 1}, "body.capacity"),
        ({"capacity": 21}, "body.capacity"),  # above this server's WEALIST_VIDEO__MAX_CAPACITY
        ({"chatId": "nope"}, "body.chatId"),
    ]:
        answer = await wealist_client.post(
            "/api/video/rooms",
            json={"workspaceId": str(team.workspace), "name": "Stand-up", **body},
            headers=team.h(team.ada),
        )
        problem = assert_problem(answer, 422, "VALIDATION_ERROR")
        assert problem["errors"][0]["field"] == field
    assert len(livekit.fake.rooms) == 1


async def test_livekit_down_is_a_503_and_nothing_is_stored(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    livekit.fake.fail_with = "unavailable"
    answer = await wealist_client.post(
        "/api/video/rooms", json={"workspaceId": str(team.workspace), "name": "x"}, headers=team.h(team.ada)
    )
    problem = assert_problem(answer, 503, "SERVICE_UNAVAILABLE")
    assert problem["dependency"] == "media" and answer.headers["Retry-After"]
    livekit.fake.fail_with = None
    listed = await wealist_client.get(team.rooms_path, headers=team.h(team.ada))
    assert listed.json()["items"] == []
