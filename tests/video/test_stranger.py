"""A stranger (a member of another workspace) walks every video route with this workspace's ids and gets
404 from each, and nothing changes: no LiveKit call, no row. The walk is driven by the OpenAPI document, so a
route added later without a case here fails the test."""

from __future__ import annotations

import httpx

from tests.video.conftest import LiveKitServer, Team, create_room
from wealist_core.testing import assert_problem


async def test_a_stranger_gets_404_from_every_route(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    ended = await create_room(wealist_client, team, name="Yesterday")
    await wealist_client.delete(f"/api/video/rooms/{ended['roomId']}", headers=team.h(team.ada))
    [call] = (await wealist_client.get(team.history_path, headers=team.h(team.ada))).json()["items"]
    room = await create_room(wealist_client, team)
    await wealist_client.post(f"/api/video/rooms/{room['roomId']}/join", headers=team.h(team.ada))
    before = (
        len(livekit.fake.calls),
        await wealist_client.get(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada)),
    )

    bodies = {
        ("post", "/api/video/rooms"): {"workspaceId": str(team.workspace), "name": "Mine now"},
        ("put", "/api/video/history/{callId}/transcript"): {"text": "overwritten"},
    }
    codes = {"{roomId}": "ROOM_NOT_FOUND", "{callId}": "CALL_NOT_FOUND"}
    spec = (await wealist_client.get("/api/openapi.json")).json()
    walked = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not operation["operationId"].startswith("video.") or path == "/api/video/webhooks/livekit":
                continue
            url = path.replace("{roomId}", room["roomId"]).replace("{callId}", call["callId"])
            if any(
                p["name"] == "workspaceId" and p["in"] == "query" for p in operation.get("parameters", [])
            ):
                url += f"?workspaceId={team.workspace}"
            answer = await wealist_client.request(
                method, url, json=bodies.get((method, path)), headers=team.h(team.stranger)
            )
            code = next((c for key, c in codes.items() if key in path), "WORKSPACE_NOT_FOUND")
            assert_problem(answer, 404, code)
            walked += 1
    assert walked == 11

    # The webhook is no member's route: without LiveKit's signature it is 401 for anyone.
    hook = await wealist_client.post(
        "/api/video/webhooks/livekit", content=b"{}", headers=team.h(team.stranger)
    )
    assert_problem(hook, 401, "WEBHOOK_SIGNATURE_INVALID")

    after = await wealist_client.get(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))
    assert len(livekit.fake.calls) == before[0] and after.json() == before[1].json()
    transcript = await wealist_client.get(f"/api/video/history/{call['callId']}", headers=team.h(team.ada))
    assert transcript.json()["transcript"] is None
    assert (await wealist_client.get(team.rooms_path, headers=team.h(team.ada))).json()["items"] == [
        after.json()
    ]
