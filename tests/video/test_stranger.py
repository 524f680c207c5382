"""A stranger (a member of another workspace) walks every video route with this workspace's ids: each is
refused with 404 and shows nothing of it, and nothing changes (no LiveKit call, no row). Every route but the
webhook needs a token; the webhook needs LiveKit's signature."""

from __future__ import annotations

import httpx
from starlette.applications import Starlette

from tests.video.conftest import LiveKitServer, Team, create_room
from wealist_core.testing import Probe, assert_problem, assert_routes_need_a_token, probe_routes

HOOK = ("POST", "/api/video/webhooks/livekit")


async def test_a_stranger_is_refused_by_every_route(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    ended = await create_room(wealist_client, team, name="Secret retrospective")
    await wealist_client.delete(f"/api/video/rooms/{ended['roomId']}", headers=team.h(team.ada))
    [call] = (await wealist_client.get(team.history_path, headers=team.h(team.ada))).json()["items"]
    await wealist_client.put(
        f"/api/video/history/{call['callId']}/transcript",
        json={"text": "the secret plan"},
        headers=team.h(team.ada),
    )
    room = await create_room(wealist_client, team, name="Secret stand-up")
    await wealist_client.post(f"/api/video/rooms/{room['roomId']}/join", headers=team.h(team.ada))
    calls_before = len(livekit.fake.calls)
    room_before = (
        await wealist_client.get(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))
    ).json()

    answers = await probe_routes(
        wealist_app,
        wealist_client,
        plugin="video",
        headers=team.h(team.stranger),
        ids={"workspaceId": str(team.workspace), "roomId": room["roomId"], "callId": call["callId"]},
        calls={
            ("POST", "/api/video/rooms"): Probe(body={"workspaceId": "{workspaceId}", "name": "Mine now"}),
            ("GET", "/api/video/rooms"): Probe(query={"workspaceId": "{workspaceId}"}),
            ("GET", "/api/video/rooms/{roomId}"): Probe(),
            ("DELETE", "/api/video/rooms/{roomId}"): Probe(),
            ("POST", "/api/video/rooms/{roomId}/join"): Probe(),
            ("POST", "/api/video/rooms/{roomId}/leave"): Probe(),
            ("POST", "/api/video/rooms/{roomId}/recording"): Probe(),
            ("DELETE", "/api/video/rooms/{roomId}/recording"): Probe(),
            ("GET", "/api/video/history"): Probe(
                query={"workspaceId": "{workspaceId}", "userId": str(team.ada.user_id)}
            ),
            ("GET", "/api/video/history/{callId}"): Probe(),
            ("PUT", "/api/video/history/{callId}/transcript"): Probe(body={"text": "overwritten"}),
            # Not a member's route: LiveKit's signature is what it checks, and a stranger has none.
            HOOK: Probe(body={"event": "room_finished", "room": {"name": "{roomId}"}}, statuses=(401,)),
        },
        secrets=["Secret stand-up", "Secret retrospective", "the secret plan", livekit.fake.api_key],
    )
    assert_problem(answers[HOOK], 401, "WEBHOOK_SIGNATURE_INVALID")
    for (_, template), answer in answers.items():
        if "{roomId}" in template:
            assert_problem(answer, 404, "ROOM_NOT_FOUND")
        elif "{callId}" in template:
            assert_problem(answer, 404, "CALL_NOT_FOUND")

    # Nothing changed: no call reached LiveKit, the room, the history and the transcript are as they were.
    assert len(livekit.fake.calls) == calls_before
    room_after = (
        await wealist_client.get(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))
    ).json()
    assert room_after == room_before
    assert (await wealist_client.get(team.rooms_path, headers=team.h(team.ada))).json()["items"] == [
        room_after
    ]
    seen = (await wealist_client.get(f"/api/video/history/{call['callId']}", headers=team.h(team.ada))).json()
    assert seen["transcript"] == "the secret plan"


async def test_every_route_but_the_webhook_needs_a_token(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, livekit: LiveKitServer
) -> None:
    await assert_routes_need_a_token(wealist_app, wealist_client, plugin="video", public=[HOOK])
    assert_problem(await wealist_client.post(HOOK[1], content=b"{}"), 401, "WEBHOOK_SIGNATURE_INVALID")
