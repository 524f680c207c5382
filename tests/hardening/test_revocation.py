"""A token revoked by logout stays refused after Redis restarts empty, and a revocation store that cannot
answer refuses every token with a 503 (never a pass).

Runs on a private Redis started by the test (never the machine's shared one), since it is restarted.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.auth.support import bearer, login, monolith, running, settings_for, signup, unique_email
from tests.support.private_servers import PrivateRedis
from wealist_core.testing import assert_problem

pytestmark = [pytest.mark.redis]


@pytest.fixture
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    server = PrivateRedis(tmp_path / "redis")
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _settings(settings_factory: Any, redis: PrivateRedis) -> Any:
    return settings_for(settings_factory, {"keyvalue_url": redis.url})


async def test_a_logged_out_token_stays_refused_after_redis_restarts_empty(
    settings_factory: Any, private_redis: PrivateRedis
) -> None:
    app = monolith(_settings(settings_factory, private_redis))
    async with running(app) as client:
        email = unique_email()
        out, kept = await signup(client, email), await signup(client)
        assert (await client.get("/api/whoami", headers=bearer(out["accessToken"]))).status_code == 200
        logout = await client.post("/api/auth/logout", headers=bearer(out["accessToken"]), json={})
        assert logout.status_code == 204
        assert_problem(
            await client.get("/api/whoami", headers=bearer(out["accessToken"])), 401, "UNAUTHORIZED"
        )

        private_redis.restart()  # in memory only: every revocation and session is gone

        for token in (out["accessToken"], kept["accessToken"]):
            body = assert_problem(await client.get("/api/whoami", headers=bearer(token)), 401, "UNAUTHORIZED")
            assert "sign in again" in body["detail"]
        for refresh in (out["refreshToken"], kept["refreshToken"]):
            answer = await client.post("/api/auth/refresh", json={"refreshToken": refresh})
            assert_problem(answer, 401, "UNAUTHORIZED")

        # Signing in again works at once on the emptied store.
        again = await login(client, email)
        assert again.status_code == 200, again.text
        headers = bearer(again.json()["accessToken"])
        assert (await client.get("/api/whoami", headers=headers)).status_code == 200


async def test_a_revocation_store_that_cannot_answer_refuses_tokens_with_503(
    settings_factory: Any, private_redis: PrivateRedis
) -> None:
    app = monolith(_settings(settings_factory, private_redis))
    async with running(app) as client:
        pair = await signup(client)
        private_redis.stop()
        try:
            answer = await client.get("/api/whoami", headers=bearer(pair["accessToken"]))
            body = assert_problem(answer, 503, "SERVICE_UNAVAILABLE")
            assert body["dependency"] == "keyvalue"
            assert answer.headers["Retry-After"].isdigit()
            assert str(private_redis.port) not in answer.text and "127.0.0.1" not in answer.text
        finally:
            private_redis.start()
        # Back (and empty: no session survived), it serves new sessions at once.
        fresh = await signup(client)
        assert (await client.get("/api/whoami", headers=bearer(fresh["accessToken"]))).status_code == 200
