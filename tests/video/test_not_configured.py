"""Without LiveKit the video routes say so (503 VIDEO_NOT_CONFIGURED) and the rest works; without Egress,
recording says so (503 RECORDING_NOT_CONFIGURED)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from tests.video.conftest import LiveKitServer, Team, create_room
from wealist_core import Settings
from wealist_core.testing import assert_problem


class TestWithoutLiveKit:
    @pytest.fixture
    def wealist_settings(self, wealist_settings_factory: Callable[..., Settings]) -> Settings:
        return wealist_settings_factory(media_url="")

    async def test_video_routes_answer_503_and_history_still_works(
        self, wealist_client: httpx.AsyncClient, team: Team
    ) -> None:
        answer = await wealist_client.post(
            "/api/video/rooms",
            json={"workspaceId": str(team.workspace), "name": "x"},
            headers=team.h(team.ada),
        )
        problem = assert_problem(answer, 503, "VIDEO_NOT_CONFIGURED")
        assert "WEALIST_MEDIA_URL" in problem["detail"]
        assert_problem(
            await wealist_client.post("/api/video/webhooks/livekit", content=b"{}"),
            503,
            "VIDEO_NOT_CONFIGURED",
        )
        listed = await wealist_client.get(team.rooms_path, headers=team.h(team.ada))
        assert listed.status_code == 200 and listed.json()["items"] == []
        history = await wealist_client.get(team.history_path, headers=team.h(team.ada))
        assert history.status_code == 200 and history.json() == {"items": [], "nextCursor": None}
        # A stranger learns nothing more than 404.
        stranger = await wealist_client.post(
            "/api/video/rooms",
            json={"workspaceId": str(team.workspace), "name": "x"},
            headers=team.h(team.stranger),
        )
        assert_problem(stranger, 404, "WORKSPACE_NOT_FOUND")
        assert (await wealist_client.get("/health/ready")).status_code == 200


class TestWithoutEgress:
    @pytest.fixture
    def wealist_settings(
        self, wealist_settings_factory: Callable[..., Settings], livekit: LiveKitServer
    ) -> Settings:
        return wealist_settings_factory(media_url=livekit.media_url.removesuffix("?egress=true"))

    async def test_recording_answers_503_and_calls_work(
        self, wealist_client: httpx.AsyncClient, livekit: LiveKitServer, team: Team
    ) -> None:
        room = await create_room(wealist_client, team)
        answer = await wealist_client.post(
            f"/api/video/rooms/{room['roomId']}/recording", headers=team.h(team.ada)
        )
        assert_problem(answer, 503, "RECORDING_NOT_CONFIGURED")
        assert livekit.fake.methods("Egress") == []
        joined = await wealist_client.post(
            f"/api/video/rooms/{room['roomId']}/join", headers=team.h(team.ada)
        )
        assert joined.status_code == 200
        assert joined.json()["iceServers"] == []  # no STUN or TURN configured here


class TestLiveKitCloudUrl:
    @pytest.fixture
    def wealist_settings(self, wealist_settings_factory: Callable[..., Settings]) -> Settings:
        return wealist_settings_factory(media_url="wss://APIkey:a-cloud-secret@team.livekit.cloud")

    async def test_the_console_s_wss_url_selects_the_livekit_adapter(self, wealist_app: object) -> None:
        media = wealist_app.state.wealist.container.media("video")  # type: ignore[attr-defined]
        assert type(media).__name__ == "LiveKitMediaRooms"
        assert (media.api_url, media.client_url) == ("https://team.livekit.cloud", "wss://team.livekit.cloud")
