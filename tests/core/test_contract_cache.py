"""Answers of a remote provider's ``@cacheable`` methods are kept a few seconds, and dropped by its events in
every process, including replicas of one consumer.

The roster toy provides ``roster.Roster.role`` (cacheable, dropped by ``roster.role_*``); the reader toy
asks it once per request. ``GET /api/roster/served`` tells how many questions the provider answered, so a
test sees what the cache spared. The main test runs three real processes on Redis: the provider and two
replicas of the reader. The event bus hands each event to one replica of a consumer group; the cache's
invalidation must still reach both.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import wealist_adapters.memory
import wealist_adapters.sqlite

from tests.plugins.roster import ReaderPlugin, RosterPlugin
from tests.support.processes import ServerProcess, serving, start_wealist, wealist_env
from wealist_core import Settings
from wealist_core._contract_cache import MISSING, ResultCache
from wealist_core.app import create_app
from wealist_core.testing import hermetic_settings

TOYS = "tests.plugins.roster:RosterPlugin,tests.plugins.roster:ReaderPlugin"
ADAPTERS = [wealist_adapters.memory, wealist_adapters.sqlite]
SettingsFactory = Callable[..., Settings]


async def served(client: httpx.AsyncClient) -> int:
    response = await client.get("/api/roster/served")
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def role_seen(client: httpx.AsyncClient, team: str = "apollo", person: str = "ada") -> str | None:
    response = await client.get(f"/api/reader/{team}/{person}")
    assert response.status_code == 200, response.text
    role: str | None = response.json()["role"]
    return role


async def set_role(client: httpx.AsyncClient, role: str, team: str = "apollo", person: str = "ada") -> None:
    response = await client.put(f"/api/roster/{team}/{person}", json={"role": role})
    assert response.status_code == 204, response.text


async def until(check: Callable[[], object], *, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        assert time.monotonic() < deadline, "not reached in time"
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------------- three real processes


@pytest.fixture
def deployment(redis_url: str, tmp_path: Path) -> Iterator[tuple[ServerProcess, ...]]:
    shared = {
        "WEALIST_PLUGIN_MODULES": TOYS,
        "WEALIST_EVENTBUS_URL": redis_url,
        "WEALIST_PUBSUB_URL": redis_url,
        # Far longer than the test: an answer that changes can only have been dropped by an event.
        "WEALIST_CONTRACT_CACHE_SECONDS": "300",
    }
    data = tmp_path / "data"
    started: list[ServerProcess] = []
    try:
        provider = start_wealist(
            "roster", wealist_env({**shared, "WEALIST_PLUGINS": "roster"}, data_dir=data), log_dir=tmp_path
        )
        started.append(provider)
        for replica in ("reader-1", "reader-2"):
            env = {**shared, "WEALIST_PLUGINS": "reader", "WEALIST_PEERS__ROSTER": provider.url}
            started.append(start_wealist(replica, wealist_env(env, data_dir=data), log_dir=tmp_path))
        yield tuple(started)
    finally:
        for process in reversed(started):
            process.stop()


async def test_an_event_of_the_provider_drops_the_cached_answer_in_every_replica(
    deployment: tuple[ServerProcess, ServerProcess, ServerProcess],
) -> None:
    provider_process, *replica_processes = deployment
    async with (
        httpx.AsyncClient(base_url=provider_process.url) as provider,
        httpx.AsyncClient(base_url=replica_processes[0].url) as first,
        httpx.AsyncClient(base_url=replica_processes[1].url) as second,
    ):
        await set_role(provider, "MEMBER")
        await until(lambda: provider.post("/api/roster/notes"))  # the provider's bus is up
        # The set-up's own event may drop a replica's first answer when it arrives: read until a round asks
        # the provider nothing, so that what follows counts only the reads.
        for _ in range(50):
            settled = await served(provider)
            assert await role_seen(first) == "MEMBER"
            assert await role_seen(second) == "MEMBER"
            await asyncio.sleep(0.2)
            if await served(provider) == settled:
                break
        before = await served(provider)

        for _ in range(5):
            assert await role_seen(first) == "MEMBER"
            assert await role_seen(second) == "MEMBER"
        assert await served(provider) == before  # every read answered from the replicas' caches

        await set_role(provider, "ADMIN")

        async def both_see_admin() -> bool:
            return await role_seen(first) == "ADMIN" and await role_seen(second) == "ADMIN"

        await until(both_see_admin)  # each replica dropped its answer, not just the one the bus chose
        asked = await served(provider)
        for _ in range(3):
            assert await role_seen(first) == "ADMIN"
            assert await role_seen(second) == "ADMIN"
        assert await served(provider) == asked  # cached again


# ---------------------------------------------------------------------------------------- in one process


async def test_in_one_process_calls_are_direct_and_never_cached(settings_factory: SettingsFactory) -> None:
    app = create_app(
        settings_factory(contract_cache_seconds=300),
        plugins=[RosterPlugin, ReaderPlugin],
        adapters=ADAPTERS,
    )
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://wealist") as client,
    ):
        await set_role(client, "MEMBER")
        before = await served(client)
        assert [await role_seen(client) for _ in range(3)] == ["MEMBER"] * 3
        assert await served(client) == before + 3
        await set_role(client, "ADMIN")
        assert await role_seen(client) == "ADMIN"  # at once: there was nothing to drop


@pytest.mark.parametrize(("seconds", "questions"), [(0, 4), (300, 1)], ids=["cache-off", "cache-on"])
async def test_the_cache_lifetime_setting_turns_caching_off_and_on(
    tmp_path: Path, seconds: int, questions: int
) -> None:
    provider_app = create_app(
        hermetic_settings(tmp_path / "provider"), plugins=[RosterPlugin], adapters=ADAPTERS
    )
    async with serving(provider_app) as provider_url:
        reader_app = create_app(
            hermetic_settings(
                tmp_path / "reader", peers={"roster": provider_url}, contract_cache_seconds=seconds
            ),
            plugins=[ReaderPlugin],
            adapters=ADAPTERS,
        )
        async with (
            reader_app.router.lifespan_context(reader_app),
            httpx.AsyncClient(transport=httpx.ASGITransport(reader_app), base_url="http://r") as reader,
            httpx.AsyncClient(base_url=provider_url) as provider,
        ):
            for _ in range(4):
                assert await role_seen(reader) is None  # a "no" is an answer, cached like any other
            assert await served(provider) == questions


def test_only_the_events_a_method_names_drop_its_answers() -> None:
    cache = ResultCache("roster", {"role": ("roster.role_*",), "teams": ()}, seconds=300)
    cache.set_enabled(True)
    for method in ("role", "teams"):
        cache.put(method, "key", "answer", cache.generation)

    cache.invalidate("roster.noted")
    assert cache.get("role", "key") == "answer"  # role names only roster.role_* events
    assert cache.get("teams", "key") is MISSING  # any event drops the answers of a plain @cacheable

    cache.invalidate("roster.role_changed")
    assert cache.get("role", "key") is MISSING


def test_an_answer_fetched_while_an_event_arrives_is_not_kept() -> None:
    cache = ResultCache("roster", {"role": ()}, seconds=300)
    cache.set_enabled(True)
    generation = cache.generation  # the call starts
    cache.invalidate("roster.role_changed")  # the change's event arrives before its answer
    cache.put("role", "key", "stale", generation)

    assert cache.get("role", "key") is MISSING
