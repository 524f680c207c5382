"""Contract of the KeyValue port: every adapter, the in-process one and Redis, behaves the same."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from wealist_adapters import memory as memory_adapters
from wealist_adapters import redis as redis_adapters

from wealist_core import AdapterContext, AdapterRegistry, AdapterUnavailable, KeyValue, Settings

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def build(url: str, settings: Settings, *, setting: str = "WEALIST_KEYVALUE_URL") -> KeyValue:
    """The adapter the host would pick for ``url``, through the adapters' own registrations."""
    registry = AdapterRegistry()
    registry.extend(memory_adapters.wealist_register_adapters(), "memory")
    registry.extend(redis_adapters.wealist_register_adapters(), "redis")
    spec = registry.resolve("keyvalue", url, setting=setting)
    adapter = spec.factory(AdapterContext(url=url, settings=settings, setting=setting))
    assert isinstance(adapter, KeyValue)
    return adapter


@pytest.fixture(params=BACKENDS)
def kv_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def kv(kv_url: str, settings_factory: Callable[..., Settings]) -> AsyncIterator[KeyValue]:
    store = build(kv_url, settings_factory())
    await store.start()
    yield store
    await store.close()


async def eventually(condition: Callable[[], Awaitable[bool]]) -> None:
    """Poll ``condition`` until it holds; fail after two seconds."""
    deadline = time.monotonic() + 2.0
    while not await condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


# ------------------------------------------------------------------------------------------------ strings


async def test_set_then_get_returns_text(kv: KeyValue) -> None:
    assert await kv.get("missing") is None
    assert await kv.set("greeting", "hello") is True
    assert await kv.set("raw", b"bytes in") is True
    assert await kv.get("greeting") == "hello"
    assert await kv.get("raw") == "bytes in"
    assert await kv.exists("greeting") and not await kv.exists("missing")


async def test_count_existing_counts_the_live_keys_among_many(kv: KeyValue) -> None:
    await kv.set("a", "1")
    await kv.set("b", "1", ttl=0.1)
    assert await kv.count_existing() == 0
    assert await kv.count_existing("a", "b", "missing") == 2
    assert await kv.count_existing("a", "a") == 2  # as Redis EXISTS counts a key named twice
    other = kv.namespace("other:")
    await other.set("a", "1")
    assert await other.count_existing("a", "b") == 1  # the namespace's own keys only
    await asyncio.sleep(0.25)
    assert await kv.count_existing("a", "b") == 1  # an expired key does not count


async def test_key_with_ttl_expires(kv: KeyValue) -> None:
    await kv.set("token", "abc", ttl=0.2)
    remaining = await kv.ttl("token")
    assert remaining is not None and 0 < remaining <= 0.2
    assert await kv.get("token") == "abc"

    async def gone() -> bool:
        return await kv.get("token") is None

    await eventually(gone)
    assert not await kv.exists("token")
    assert await kv.ttl("token") is None


async def test_plain_set_clears_an_earlier_ttl(kv: KeyValue) -> None:
    await kv.set("k", "1", ttl=30)
    await kv.set("k", "2")
    assert await kv.ttl("k") is None
    assert await kv.get("k") == "2"


async def test_only_if_absent_keeps_the_first_value_until_it_expires(kv: KeyValue) -> None:
    assert await kv.set("lock", "first", ttl=0.2, only_if_absent=True) is True
    assert await kv.set("lock", "second", only_if_absent=True) is False
    assert await kv.get("lock") == "first"

    async def taken_by_second() -> bool:
        return await kv.set("lock", "second", only_if_absent=True)

    await eventually(taken_by_second)
    assert await kv.get("lock") == "second"


async def test_delete_returns_how_many_keys_existed(kv: KeyValue) -> None:
    await kv.set("a", "1")
    await kv.set("b", "2")
    await kv.sadd("c", "x")
    assert await kv.delete("a", "b", "c", "nope") == 3
    assert await kv.delete("a") == 0
    assert await kv.delete() == 0
    assert await kv.get("a") is None


async def test_expire_sets_ttl_and_reports_missing_keys(kv: KeyValue) -> None:
    assert await kv.expire("missing", 10) is False
    await kv.set("k", "v")
    assert await kv.ttl("k") is None
    assert await kv.expire("k", 10) is True
    remaining = await kv.ttl("k")
    assert remaining is not None and 9 < remaining <= 10
    assert await kv.expire("k", 0) is True  # a non-positive expiry deletes, as in Redis
    assert not await kv.exists("k")


async def test_non_positive_ttl_on_set_is_refused(kv: KeyValue) -> None:
    with pytest.raises(ValueError):
        await kv.set("k", "v", ttl=0)
    with pytest.raises(ValueError):
        await kv.incr("n", ttl=-1)


# --------------------------------------------------------------------------------------------- counters


async def test_incr_counts_and_applies_ttl_only_when_it_creates_the_key(kv: KeyValue) -> None:
    assert await kv.incr("hits", ttl=30) == 1
    first_ttl = await kv.ttl("hits")
    assert first_ttl is not None and 29 < first_ttl <= 30
    assert await kv.incr("hits", 4, ttl=300) == 5
    later_ttl = await kv.ttl("hits")
    assert later_ttl is not None and later_ttl <= 30  # not reset by a later increment
    assert await kv.get("hits") == "5"
    assert await kv.incr("hits", -2) == 3

    await kv.set("plain", "7")
    assert await kv.incr("plain", ttl=30) == 8
    assert await kv.ttl("plain") is None  # existed before: no expiry added


async def test_incr_counter_with_ttl_expires(kv: KeyValue) -> None:
    await kv.incr("window", ttl=0.2)

    async def gone() -> bool:
        return not await kv.exists("window")

    await eventually(gone)
    assert await kv.incr("window", ttl=0.2) == 1


async def test_concurrent_incr_loses_no_update_and_sets_one_ttl(kv: KeyValue) -> None:
    results = await asyncio.gather(*(kv.incr("race", ttl=30) for _ in range(50)))
    assert sorted(results) == list(range(1, 51))
    remaining = await kv.ttl("race")
    assert remaining is not None and 0 < remaining <= 30


async def test_incr_on_text_raises_value_error(kv: KeyValue) -> None:
    await kv.set("name", "alice")
    with pytest.raises(ValueError):
        await kv.incr("name")
    assert await kv.get("name") == "alice"


async def test_wrong_type_access_raises_type_error(kv: KeyValue) -> None:
    await kv.sadd("members", "a")
    await kv.set("text", "t")
    with pytest.raises(TypeError):
        await kv.get("members")
    with pytest.raises(TypeError):
        await kv.sadd("text", "x")
    with pytest.raises(TypeError):
        await kv.zadd("members", {"a": 1})
    with pytest.raises(TypeError):
        await kv.incr("members")


# ------------------------------------------------------------------------------------------------- sets


async def test_sets_add_remove_and_report_membership(kv: KeyValue) -> None:
    assert await kv.sadd("online", "ann", "bob") == 2
    assert await kv.sadd("online", "bob", "cyd") == 1
    assert await kv.smembers("online") == {"ann", "bob", "cyd"}
    assert await kv.sismember("online", "ann")
    assert not await kv.sismember("online", "dan")
    assert await kv.srem("online", "ann", "dan") == 1
    assert await kv.smembers("missing") == set()
    assert await kv.srem("online", "bob", "cyd") == 2
    assert not await kv.exists("online")  # an emptied set disappears


async def test_set_with_expiry_disappears(kv: KeyValue) -> None:
    await kv.sadd("typing", "ann")
    assert await kv.expire("typing", 0.2)

    async def empty() -> bool:
        return await kv.smembers("typing") == set()

    await eventually(empty)
    assert not await kv.sismember("typing", "ann")


# ------------------------------------------------------------------------------------------ sorted sets


async def test_zadd_counts_new_members_and_updates_scores(kv: KeyValue) -> None:
    assert await kv.zadd("board", {"a": 1, "b": 2}) == 2
    assert await kv.zadd("board", {"a": 5, "c": 3}) == 1
    assert await kv.zscore("board", "a") == 5.0
    assert await kv.zscore("board", "zzz") is None
    assert await kv.zscore("missing", "a") is None
    assert await kv.zcard("board") == 3
    assert await kv.zcard("missing") == 0


async def test_zrange_by_score_is_inclusive_ordered_and_limited(kv: KeyValue) -> None:
    await kv.zadd("z", {"d": 4, "a": 1, "c": 3, "b": 2, "b2": 2, "e": 5.5})
    assert await kv.zrange_by_score("z") == [
        ("a", 1.0),
        ("b", 2.0),
        ("b2", 2.0),
        ("c", 3.0),
        ("d", 4.0),
        ("e", 5.5),
    ]
    assert await kv.zrange_by_score("z", 2, 4) == [("b", 2.0), ("b2", 2.0), ("c", 3.0), ("d", 4.0)]
    assert await kv.zrange_by_score("z", 2, 4, limit=2) == [("b", 2.0), ("b2", 2.0)]
    assert await kv.zrange_by_score("z", maximum=1) == [("a", 1.0)]
    assert await kv.zrange_by_score("z", minimum=5) == [("e", 5.5)]
    assert await kv.zrange_by_score("z", limit=0) == []
    assert await kv.zrange_by_score("z", 10, 20) == []
    assert await kv.zrange_by_score("missing") == []


async def test_sorted_set_removal_by_member_and_by_score(kv: KeyValue) -> None:
    await kv.zadd("z", {"a": 1, "b": 2, "c": 3, "d": 4})
    assert await kv.zremrange_by_score("z", 2, 3) == 2
    assert await kv.zrange_by_score("z") == [("a", 1.0), ("d", 4.0)]
    assert await kv.zremrange_by_score("z", float("-inf"), 0) == 0
    assert await kv.zrem("z", "a", "nope") == 1
    assert await kv.zrem("missing", "a") == 0
    assert await kv.zremrange_by_score("z", float("-inf"), float("inf")) == 1
    assert not await kv.exists("z")  # an emptied sorted set disappears


# ------------------------------------------------------------------------------------------- namespaces


async def test_namespaces_isolate_keys_and_share_data(kv: KeyValue) -> None:
    auth = kv.namespace("auth:")
    board = kv.namespace("board:")
    await auth.set("session", "for-auth")
    await board.set("session", "for-board")
    assert await auth.get("session") == "for-auth"
    assert await board.get("session") == "for-board"
    assert await kv.get("session") is None
    assert await kv.get("auth:session") == "for-auth"  # a view over the same data

    assert await board.delete("session") == 1
    assert await auth.get("session") == "for-auth"

    await auth.sadd("online", "ann")
    await auth.zadd("scores", {"ann": 1})
    assert await kv.smembers("auth:online") == {"ann"}
    assert await kv.zrange_by_score("auth:scores") == [("ann", 1.0)]


async def test_namespaces_nest(kv: KeyValue) -> None:
    tokens = kv.namespace("auth:").namespace("refresh:")
    await tokens.set("t1", "x", ttl=30)
    assert await kv.get("auth:refresh:t1") == "x"
    assert await kv.namespace("auth:").get("refresh:t1") == "x"
    assert await tokens.incr("n") == 1
    assert await kv.get("auth:refresh:n") == "1"
    ttl = await tokens.ttl("t1")
    assert ttl is not None and ttl > 29


# ---------------------------------------------------------------------------------------------- Redis only


@pytest.mark.parametrize(
    ("url", "setting"),
    [
        ("redis://127.0.0.1:1/0", "WEALIST_KEYVALUE_URL"),
        ("redis://:hunter2@127.0.0.1:1/3", "WEALIST_AUTH__KEYVALUE_URL"),
    ],
)
async def test_start_on_unreachable_redis_names_the_setting(
    url: str, setting: str, settings_factory: Callable[..., Settings]
) -> None:
    store = build(url, settings_factory(), setting=setting)
    try:
        with pytest.raises(AdapterUnavailable) as caught:
            await store.start()
    finally:
        await store.close()
    message = str(caught.value)
    assert setting in message
    assert "127.0.0.1:1" in message
    assert "hunter2" not in message
    if "hunter2" in url:
        assert ":***@127.0.0.1:1/3" in message
