"""LiveKit's webhooks (signed as LiveKit signs them) keep the participants and recordings, and a finished
room becomes history; recordings go through Egress into the blob store under ``video/<room id>/``."""

from __future__ import annotations

import uuid

import httpx
from starlette.applications import Starlette
from wealist_plugins.user.testing import InMemoryDirectory

from tests.video.conftest import LiveKitServer, Team, create_room
from wealist_core.testing import assert_problem, on_both_backends

HOOK = "/api/video/webhooks/livekit"


async def _hook(
    client: httpx.AsyncClient, livekit: LiveKitServer, event: str, **kw: object
) -> httpx.Response:
    body, headers = livekit.fake.webhook(event, **kw)  # type: ignore[arg-type]
    return await client.post(HOOK, content=body, headers=headers)


@on_both_backends
async def test_participants_follow_the_webhooks_and_room_finished_ends_the_call(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    room_id = room["roomId"]
    await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.ada))
    ada = str(team.ada.user_id)
    kv = wealist_app.state.wealist.container.keyvalue("video")

    assert (
        await _hook(wealist_client, livekit, "participant_joined", room=room_id, identity=ada)
    ).status_code == 204
    assert await kv.smembers(f"room:{room_id}:participants") == {ada}
    # An egress recorder or any identity that is no member is not a participant.
    await _hook(wealist_client, livekit, "participant_joined", room=room_id, identity="EG_recorder")
    # Bob connects with a token from another device without calling join first: he is counted all the same.
    bob = str(team.bob.user_id)
    await _hook(wealist_client, livekit, "participant_joined", room=room_id, identity=bob, name="Bob")
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert {p["userId"]: p["connected"] for p in seen["participants"]} == {ada: True, bob: True}

    await _hook(wealist_client, livekit, "participant_left", room=room_id, identity=bob)
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert [p["userId"] for p in seen["participants"]] == [ada]
    assert await kv.smembers(f"room:{room_id}:participants") == {ada}

    # LiveKit closes the room once everyone is gone (empty timeout): the call is history.
    assert (await _hook(wealist_client, livekit, "room_finished", room=room_id)).status_code == 204
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert seen["status"] == "ENDED" and seen["participants"] == []
    [call] = (await wealist_client.get(team.history_path, headers=team.h(team.ada))).json()["items"]
    assert {p["userId"] for p in call["participants"]} == {ada, bob}
    # room_finished again (LiveKit retries) changes nothing.
    await _hook(wealist_client, livekit, "room_finished", room=room_id)
    assert len((await wealist_client.get(team.history_path, headers=team.h(team.ada))).json()["items"]) == 1


async def test_a_webhook_applied_twice_counts_once(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    room_id, ada = room["roomId"], str(team.ada.user_id)
    await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.ada))
    await _hook(wealist_client, livekit, "participant_joined", room=room_id, identity=ada)
    left, headers = livekit.fake.webhook("participant_left", room=room_id, identity=ada)
    assert (await wealist_client.post(HOOK, content=left, headers=headers)).status_code == 204
    # Ada rejoins; LiveKit delivers the old participant_left again: her new stay stays open.
    await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.ada))
    await _hook(wealist_client, livekit, "participant_joined", room=room_id, identity=ada)
    assert (await wealist_client.post(HOOK, content=left, headers=headers)).status_code == 204
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert [(p["userId"], p["connected"]) for p in seen["participants"]] == [(ada, True)]


async def test_unsigned_forged_or_altered_webhooks_are_refused(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    room_id = room["roomId"]
    body, headers = livekit.fake.webhook("room_finished", room=room_id)
    forged_body, forged = livekit.fake.webhook("room_finished", room=room_id, secret="another-secret-" * 3)
    for content, sent in [
        (body, {"Content-Type": "application/webhook+json"}),
        (forged_body, forged),
        (body.replace(b"room_finished", b"room_started"), headers),
    ]:
        answer = await wealist_client.post(HOOK, content=content, headers=sent)
        assert_problem(answer, 401, "WEBHOOK_SIGNATURE_INVALID")
    assert_problem(await wealist_client.post(HOOK, content=b"", headers=headers), 400, "WEBHOOK_MALFORMED")
    big = await wealist_client.post(HOOK, content=b"x" * (300 * 1024), headers=headers)
    assert_problem(big, 413, "PAYLOAD_TOO_LARGE")
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert seen["status"] == "ACTIVE"
    # A room LiveKit knows but we do not (another installation on the same server) is ignored.
    assert (await _hook(wealist_client, livekit, "room_finished", room=str(uuid.uuid4()))).status_code == 204


@on_both_backends
async def test_the_creator_records_into_the_blob_store_and_the_history_lists_it(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    room_id = room["roomId"]
    path = f"/api/video/rooms/{room_id}/recording"
    assert_problem(await wealist_client.post(path, headers=team.h(team.bob)), 403, "NOT_ROOM_CREATOR")
    assert_problem(await wealist_client.delete(path, headers=team.h(team.ada)), 409, "NOT_RECORDING")

    started = await wealist_client.post(path, headers=team.h(team.ada))
    assert started.status_code == 201, started.text
    recording = started.json()
    assert recording["status"] == "STARTING" and recording["startedBy"] == str(team.ada.user_id)
    [egress_id] = livekit.fake.egresses
    filepath = livekit.fake.egresses[egress_id].room_composite.file_outputs[0].filepath
    assert filepath == f"video/{room_id}/{{time}}.mp4"
    assert_problem(await wealist_client.post(path, headers=team.h(team.ada)), 409, "RECORDING_IN_PROGRESS")
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.bob))).json()
    assert seen["recording"] is True

    stopped = await wealist_client.delete(path, headers=team.h(team.ada))
    assert stopped.status_code == 200 and stopped.json()["status"] == "ENDING"
    # Egress writes the file to the bucket, then says so.
    info = livekit.fake.finish_egress(egress_id, size=5, seconds=42.0)
    key = info.file_results[0].filename
    blobs = wealist_app.state.wealist.container.blobstore("video")
    await blobs.put(key, b"mp4!!", content_type="video/mp4")
    assert (await _hook(wealist_client, livekit, "egress_ended", egress=info)).status_code == 204

    await wealist_client.delete(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))
    [call] = (await wealist_client.get(team.history_path, headers=team.h(team.bob))).json()["items"]
    [done] = call["recordings"]
    assert done["status"] == "COMPLETE" and done["key"] == key and key.startswith(f"video/{room_id}/")
    assert done["size"] == 5 and done["durationSeconds"] == 42.0 and done["downloadUrl"]
    assert done["recordingId"] == recording["recordingId"]


async def test_recording_an_ended_call_is_410(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    await wealist_client.delete(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))
    answer = await wealist_client.post(
        f"/api/video/rooms/{room['roomId']}/recording", headers=team.h(team.ada)
    )
    assert_problem(answer, 410, "ROOM_ENDED")
    assert livekit.fake.egresses == {}


async def test_someone_no_longer_a_member_reconnecting_with_an_old_token_is_disconnected(
    wealist_client: httpx.AsyncClient, directory: InMemoryDirectory, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    room_id, bob = room["roomId"], str(team.bob.user_id)
    joined = await wealist_client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(team.bob))
    await wealist_client.post(f"/api/video/rooms/{room_id}/leave", headers=team.h(team.bob))
    directory.remove_member(team.workspace, team.bob.user_id)

    livekit.fake.connect(joined.json()["token"])  # the token is still valid for LiveKit
    assert (
        await _hook(wealist_client, livekit, "participant_joined", room=room_id, identity=bob)
    ).status_code == 204
    assert bob not in livekit.fake.participants[room_id]
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert seen["participants"] == []
