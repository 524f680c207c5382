"""A real ``wealist serve`` under load while its Redis, then its PostgreSQL, stop: every answer is a 2xx, a
401 or a 503 ``SERVICE_UNAVAILABLE`` naming the dependency with ``Retry-After`` (never a 500, never the
server's address), ``/metrics`` counts the 503s, and the process recovers on its own once each is back.

Both servers are private to the test (started on free ports, never the machine's shared ones).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.private_servers import PrivatePostgres, PrivateRedis
from tests.support.processes import ServerProcess, run_wealist, start_wealist, wealist_env

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.redis]

PLUGIN_MODULES = ",".join(
    [
        "wealist_plugins.user.plugin:UserPlugin",
        "wealist_plugins.auth.plugin:AuthPlugin",
        "wealist_plugins.auth.verifier:TokenVerifierPlugin",
    ]
)
AUTH_TEST_OPTIONS = {
    "WEALIST_AUTH__ARGON2_TIME_COST": "1",
    "WEALIST_AUTH__ARGON2_MEMORY_COST": "1024",
    "WEALIST_AUTH__ARGON2_PARALLELISM": "1",
    **{
        f"WEALIST_AUTH__RATE_LIMIT_{what}_{per}": "100000/60"
        for what in ("LOGIN", "SIGNUP", "REFRESH")
        for per in ("IP", "ACCOUNT")
    },
}
PASSWORD = "correct horse battery staple"
WORKERS = 8
#: Requests each outage must see answered while the server is down (enough to cross every code path).
DURING = 150


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[PrivateRedis, PrivatePostgres]]:
    redis = PrivateRedis(tmp_path / "redis")
    redis.start()
    postgres = PrivatePostgres()
    try:
        postgres.start()
        yield redis, postgres
    finally:
        redis.stop()
        postgres.destroy()


@pytest.fixture
def served(tmp_path: Path, servers: tuple[PrivateRedis, PrivatePostgres]) -> Iterator[ServerProcess]:
    redis, postgres = servers
    env = wealist_env(
        {
            "WEALIST_PLUGIN_MODULES": PLUGIN_MODULES,
            "WEALIST_DATABASE_URL": postgres.url,
            "WEALIST_KEYVALUE_URL": redis.url,
            "WEALIST_PUBSUB_URL": redis.url,
            "WEALIST_ACCESS_LOG": "false",
            **AUTH_TEST_OPTIONS,
        },
        data_dir=tmp_path / "data",
    )
    migrated = run_wealist(["migrate"], env)
    assert migrated.returncode == 0, migrated.stderr
    server = start_wealist("wealist-outage", env, log_dir=tmp_path / "logs")
    try:
        yield server
    finally:
        server.stop()


class Load:
    """Workers signing in and reading their account in a loop, counting every status (0: no answer)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.statuses: collections.Counter[int] = collections.Counter()
        self.unavailable: list[dict[str, Any]] = []
        self.headers_ok = True
        self.stopping = False

    async def _sign_in(self, client: httpx.AsyncClient, email: str) -> str | None:
        answer = await self._send(
            client, "POST", "/api/auth/login", json={"email": email, "password": PASSWORD}
        )
        return str(answer.json()["accessToken"]) if answer is not None and answer.status_code == 200 else None

    async def _send(
        self, client: httpx.AsyncClient, method: str, path: str, **kw: Any
    ) -> httpx.Response | None:
        try:
            answer = await client.request(method, path, **kw)
        except httpx.HTTPError:
            self.statuses[0] += 1
            return None
        self.statuses[answer.status_code] += 1
        if answer.status_code == 503:
            body = answer.json()
            self.unavailable.append(body)
            retry = answer.headers.get("Retry-After", "")
            if not retry.isdigit() or answer.headers["content-type"] != "application/problem+json":
                self.headers_ok = False
        return answer

    async def worker(self, email: str) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30.0) as client:
            token: str | None = None
            while not self.stopping:
                if token is None:
                    token = await self._sign_in(client, email)
                    if token is None:
                        await asyncio.sleep(0.02)
                    continue
                answer = await self._send(
                    client, "GET", "/api/users/me", headers={"Authorization": f"Bearer {token}"}
                )
                if answer is not None and answer.status_code == 401:
                    token = None  # the session went with Redis's data: sign in again

    def total(self) -> int:
        return sum(self.statuses.values())


async def _until(predicate: Any, what: str, *, attempts: int = 600) -> None:
    for _ in range(attempts):
        if await predicate():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"never happened: {what}")


async def _answers_200(base: str, email: str) -> bool:
    async with httpx.AsyncClient(base_url=base, timeout=10.0) as client:
        with contextlib.suppress(httpx.HTTPError):
            login = await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
            if login.status_code != 200:
                return False
            headers = {"Authorization": f"Bearer {login.json()['accessToken']}"}
            return (await client.get("/api/users/me", headers=headers)).status_code == 200
    return False


def _metric(text: str, dependency: str) -> float:
    found = re.search(
        rf'^wealist_dependency_unavailable_total{{dependency="{dependency}"}} (\S+)$', text, re.M
    )
    return float(found.group(1)) if found else 0.0


async def test_outages_of_redis_and_postgresql_answer_503_and_recover(
    served: ServerProcess, servers: tuple[PrivateRedis, PrivatePostgres]
) -> None:
    redis, postgres = servers
    base = served.url
    emails = [f"load{index}@example.com" for index in range(WORKERS)]
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
        for email in emails:
            answer = await client.post(
                "/api/auth/signup", json={"email": email, "password": PASSWORD, "name": "Load"}
            )
            assert answer.status_code == 201, answer.text

    load = Load(base)
    workers = [asyncio.create_task(load.worker(email)) for email in emails]
    try:
        await _until(lambda: _true(load.statuses[200] >= 50), "load under way")
        phases: dict[str, collections.Counter[int]] = {}
        for name, server in (("keyvalue", redis), ("database", postgres)):
            before = collections.Counter(load.statuses)
            seen = len(load.unavailable)
            await asyncio.to_thread(server.stop)
            await _until(
                lambda seen=seen: _true(len(load.unavailable) - seen >= DURING), f"503s while {name} is down"
            )
            await asyncio.to_thread(server.start)
            await _until(lambda: _answers_200(base, emails[0]), f"recovery once {name} is back")
            phases[name] = collections.Counter(load.statuses) - before
            dependencies = {body["dependency"] for body in load.unavailable[seen:]}
            assert dependencies == {name}, (name, dependencies)
        after = load.total()
        await _until(lambda: _true(load.total() >= after + 50), "load answered after recovery")
    finally:
        load.stopping = True
        await asyncio.gather(*workers)

    print(f"statuses: total {dict(load.statuses)}; per outage { ({k: dict(v) for k, v in phases.items()}) }")
    assert load.statuses[500] == 0 and load.statuses[0] == 0, dict(load.statuses)
    assert set(load.statuses) <= {200, 401, 503}, dict(load.statuses)
    assert load.headers_ok
    for body in load.unavailable:
        assert body["code"] == "SERVICE_UNAVAILABLE" and body["status"] == 503
        text = str(body)
        assert "127.0.0.1" not in text and str(redis.port) not in text and str(postgres.port) not in text

    async with httpx.AsyncClient(base_url=base) as client:
        metrics = (await client.get("/metrics")).text
    keyvalue = sum(1 for body in load.unavailable if body["dependency"] == "keyvalue")
    database = sum(1 for body in load.unavailable if body["dependency"] == "database")
    # The health probes of the recovery checks may add a few of their own, never fewer.
    assert _metric(metrics, "keyvalue") >= keyvalue > 0
    assert _metric(metrics, "database") >= database > 0


async def _true(value: bool) -> bool:
    return value
