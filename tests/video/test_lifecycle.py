"""What happens to calls around them: a member leaving the workspace leaves its calls, a deleted workspace's
calls end, a call LiveKit closed without telling us is ended by a job, and room creation is rate limited."""

from __future__ import annotations

import datetime as dt

import httpx
from starlette.applications import Starlette
from wealist_plugins.user.contract import MemberRemoved, Role, WorkspaceDeleted
from wealist_plugins.video.plugin import VideoPlugin

from tests.video.conftest import LiveKitServer, Team, create_room
from wealist_core.testing import assert_problem, plugin_named


def _video(app: Starlette) -> VideoPlugin:
    plugin = plugin_named(app, "video")
    assert isinstance(plugin, VideoPlugin)
    return plugin


async def _join_and_connect(
    client: httpx.AsyncClient, livekit: LiveKitServer, team: Team, room_id: str, who: object
) -> None:
    joined = await client.post(f"/api/video/rooms/{room_id}/join", headers=team.h(who))
    livekit.fake.connect(joined.json()["token"])
    body, headers = livekit.fake.webhook("participant_joined", room=room_id, identity=str(who.user_id))  # type: ignore[attr-defined]
    await client.post("/api/video/webhooks/livekit", content=body, headers=headers)


async def test_a_member_removed_from_the_workspace_is_taken_out_of_its_calls(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    room_id = room["roomId"]
    await _join_and_connect(wealist_client, livekit, team, room_id, team.ada)
    await _join_and_connect(wealist_client, livekit, team, room_id, team.bob)

    event = MemberRemoved(
        workspace_id=team.workspace,
        workspace_name="Apollo",
        user_id=team.bob.user_id,
        user_name="Bob",
        role=Role.MEMBER,
        actor_id=team.owner.user_id,
        actor_name="Olga",
        reason="REMOVED",
    )
    await _video(wealist_app).on_member_removed(event)
    assert set(livekit.fake.participants[room_id]) == {str(team.ada.user_id)}
    seen = (await wealist_client.get(f"/api/video/rooms/{room_id}", headers=team.h(team.ada))).json()
    assert [p["userId"] for p in seen["participants"]] == [str(team.ada.user_id)]


async def test_a_deleted_workspace_s_calls_end(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    await _video(wealist_app).on_workspace_deleted(
        WorkspaceDeleted(workspace_id=team.workspace, workspace_name="Apollo", actor_id=team.owner.user_id)
    )
    assert room["roomId"] not in livekit.fake.rooms
    history = (await wealist_client.get(team.history_path, headers=team.h(team.ada))).json()["items"]
    assert [c["roomId"] for c in history] == [room["roomId"]]


async def test_the_job_ends_calls_livekit_closed_without_a_webhook(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    quiet = await create_room(wealist_client, team, name="Quiet")
    busy = await create_room(wealist_client, team, name="Busy")
    await _join_and_connect(wealist_client, livekit, team, busy["roomId"], team.ada)
    scheduler = wealist_app.state.wealist.jobs

    # Right now nothing is old enough to be judged abandoned.
    await scheduler.run_now("video.end_abandoned_rooms")
    assert len((await wealist_client.get(team.rooms_path, headers=team.h(team.ada))).json()["items"]) == 2

    scheduler.clock = lambda: dt.datetime.now(dt.UTC) + dt.timedelta(minutes=10)
    await scheduler.run_now("video.end_abandoned_rooms")
    active = (await wealist_client.get(team.rooms_path, headers=team.h(team.ada))).json()["items"]
    assert {r["name"] for r in active} == {"Busy"}  # LiveKit still has Ada in it
    ended = (await wealist_client.get(f"/api/video/rooms/{quiet['roomId']}", headers=team.h(team.ada))).json()
    assert ended["status"] == "ENDED"


async def test_creating_rooms_is_rate_limited(
    wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
) -> None:
    for _ in range(20):
        await create_room(wealist_client, team)
    answer = await wealist_client.post(
        "/api/video/rooms",
        json={"workspaceId": str(team.workspace), "name": "one more"},
        headers=team.h(team.ada),
    )
    assert_problem(answer, 429, "RATE_LIMITED")
    assert int(answer.headers["Retry-After"]) >= 1


async def test_a_call_ended_while_livekit_is_down_is_closed_there_by_the_job(
    wealist_client: httpx.AsyncClient, wealist_app: Starlette, livekit: LiveKitServer, team: Team
) -> None:
    room = await create_room(wealist_client, team)
    await _join_and_connect(wealist_client, livekit, team, room["roomId"], team.ada)
    livekit.fake.fail_with = "unavailable"
    # The call ends for Wealist at once, whatever LiveKit's state.
    assert (
        await wealist_client.delete(f"/api/video/rooms/{room['roomId']}", headers=team.h(team.ada))
    ).status_code == 204
    assert room["roomId"] in livekit.fake.rooms
    scheduler = wealist_app.state.wealist.jobs
    await scheduler.run_now("video.end_abandoned_rooms")  # still down: kept for later
    assert room["roomId"] in livekit.fake.rooms

    livekit.fake.fail_with = None
    await scheduler.run_now("video.end_abandoned_rooms")
    assert room["roomId"] not in livekit.fake.rooms and livekit.fake.participants.get(room["roomId"]) is None
    before = len(livekit.fake.calls)
    await scheduler.run_now("video.end_abandoned_rooms")  # nothing left to close
    assert livekit.fake.methods()[before:] == []
