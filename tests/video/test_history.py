"""Call history: lists per workspace and per member, a call's record, its transcript."""

from __future__ import annotations

import httpx

from tests.video.conftest import LiveKitServer, Team, create_room
from wealist_core.testing import assert_problem


async def _call(client: httpx.AsyncClient, livekit: LiveKitServer, team: Team, *people: object) -> str:
    """A call the given people took part in (joined and connected), ended by its creator."""
    room = await create_room(client, team, who=people[0])
    for who in people:
        await client.post(f"/api/video/rooms/{room['roomId']}/join", headers=team.h(who))
        body, headers = livekit.fake.webhook(
            "participant_joined",
            room=room["roomId"],
            identity=str(who.user_id),  # type: ignore[attr-defined]
        )
        await client.post("/api/video/webhooks/livekit", content=body, headers=headers)
    assert (
        await client.delete(f"/api/video/rooms/{room['roomId']}", headers=team.h(people[0]))
    ).status_code == 204
    return str(room["roomId"])


async def test_history_per_workspace_and_per_member_latest_first(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    first = await _call(wealist_client, livekit, team, team.ada, team.bob)
    second = await _call(wealist_client, livekit, team, team.owner)
    third = await _call(wealist_client, livekit, team, team.bob)

    everything = await wealist_client.get(team.history_path, headers=team.h(team.ada))
    assert [c["roomId"] for c in everything.json()["items"]] == [third, second, first]
    bobs = await wealist_client.get(
        f"{team.history_path}&userId={team.bob.user_id}", headers=team.h(team.ada)
    )
    assert [c["roomId"] for c in bobs.json()["items"]] == [third, first]

    page = await wealist_client.get(f"{team.history_path}&limit=2", headers=team.h(team.ada))
    cursor = page.json()["nextCursor"]
    rest = await wealist_client.get(f"{team.history_path}&limit=2&cursor={cursor}", headers=team.h(team.ada))
    assert [c["roomId"] for c in rest.json()["items"]] == [first] and rest.json()["nextCursor"] is None

    stranger = await wealist_client.get(team.history_path, headers=team.h(team.stranger))
    assert_problem(stranger, 404, "WORKSPACE_NOT_FOUND")
    call_id = everything.json()["items"][0]["callId"]
    assert_problem(
        await wealist_client.get(f"/api/video/history/{call_id}", headers=team.h(team.stranger)),
        404,
        "CALL_NOT_FOUND",
    )
    bad = await wealist_client.get(f"{team.history_path}&cursor=garbage", headers=team.h(team.ada))
    assert_problem(bad, 422, "INVALID_CURSOR")


async def test_a_transcript_is_attached_by_someone_who_took_part(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    await _call(wealist_client, livekit, team, team.ada)
    [call] = (await wealist_client.get(team.history_path, headers=team.h(team.ada))).json()["items"]
    assert call["transcript"] is None
    path = f"/api/video/history/{call['callId']}/transcript"
    text = "Ada: 안녕하세요\nAda: Sprint review at three."

    refused = await wealist_client.put(path, json={"text": "not mine"}, headers=team.h(team.bob))
    assert_problem(refused, 403, "NOT_CALL_PARTICIPANT")
    put = await wealist_client.put(path, json={"text": text}, headers=team.h(team.ada))
    assert put.status_code == 200 and put.json()["transcript"] == text
    by_admin = await wealist_client.put(path, json={"text": text + "\n(edited)"}, headers=team.h(team.owner))
    assert by_admin.status_code == 200
    seen = await wealist_client.get(f"/api/video/history/{call['callId']}", headers=team.h(team.bob))
    assert seen.json()["transcript"].endswith("(edited)")
    assert_problem(
        await wealist_client.put(path, json={"text": ""}, headers=team.h(team.ada)), 422, "VALIDATION_ERROR"
    )
    long = "회의록 " * 250_000  # a million characters, three megabytes: above the host's default body limit
    assert (await wealist_client.put(path, json={"text": long}, headers=team.h(team.ada))).status_code == 200
    too_long = await wealist_client.put(path, json={"text": long + "!"}, headers=team.h(team.ada))
    assert_problem(too_long, 422, "VALIDATION_ERROR")
    assert_problem(
        await wealist_client.put(path, json={"text": "x"}, headers=team.h(team.stranger)),
        404,
        "CALL_NOT_FOUND",
    )
