"""Contract of the PubSub port: every adapter, the in-process one and Redis, behaves the same."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import AsyncIterator, Callable

import pytest
from wealist_adapters import memory as memory_adapters
from wealist_adapters import redis as redis_adapters
from wealist_adapters.memory.pubsub import MemoryPubSub
from wealist_adapters.redis.pubsub import RedisPubSub

from wealist_core import (
    AdapterContext,
    AdapterRegistry,
    AdapterUnavailable,
    BufferedSubscription,
    PubSub,
    Settings,
    Subscription,
)

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


def build(url: str, settings: Settings, *, setting: str = "WEALIST_PUBSUB_URL") -> PubSub:
    """The adapter the host would pick for ``url``, through the adapters' own registrations."""
    registry = AdapterRegistry()
    registry.extend(memory_adapters.wealist_register_adapters(), "memory")
    registry.extend(redis_adapters.wealist_register_adapters(), "redis")
    spec = registry.resolve("pubsub", url, setting=setting)
    adapter = spec.factory(AdapterContext(url=url, settings=settings, setting=setting))
    assert isinstance(adapter, PubSub)
    return adapter


@pytest.fixture(params=BACKENDS)
def pubsub_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def pubsub(pubsub_url: str, settings_factory: Callable[..., Settings]) -> AsyncIterator[PubSub]:
    adapter = build(pubsub_url, settings_factory())
    await adapter.start()
    yield adapter
    await adapter.close()


@pytest.fixture
def channel() -> str:
    # Redis channels are server-wide (not per database number): keep every test's names apart.
    return f"test:{uuid.uuid4().hex[:8]}"


async def receive(subscription: Subscription) -> tuple[str, bytes]:
    """The next message, failing after two seconds."""
    return await asyncio.wait_for(anext(aiter(subscription)), 2.0)


async def test_message_published_after_subscribe_arrives(pubsub: PubSub, channel: str) -> None:
    subscription = await pubsub.subscribe(channel)
    await pubsub.publish(channel, b"\x00binary\xff")
    await pubsub.publish(channel, "text é")
    assert await receive(subscription) == (channel, b"\x00binary\xff")
    assert await receive(subscription) == (channel, "text é".encode())
    await subscription.close()


async def test_messages_published_before_subscribe_do_not_arrive(pubsub: PubSub, channel: str) -> None:
    await pubsub.publish(channel, b"too early")
    subscription = await pubsub.subscribe(channel)
    await pubsub.publish(channel, b"in time")
    assert await receive(subscription) == (channel, b"in time")
    await subscription.close()


async def test_messages_arrive_in_publish_order(pubsub: PubSub, channel: str) -> None:
    subscription = await pubsub.subscribe(channel)
    for number in range(100):
        await pubsub.publish(channel, str(number))
    received = [await receive(subscription) for _ in range(100)]
    assert received == [(channel, str(number).encode()) for number in range(100)]
    await subscription.close()


async def test_every_subscriber_receives_each_message(pubsub: PubSub, channel: str) -> None:
    first = await pubsub.subscribe(channel)
    second = await pubsub.subscribe(channel)
    await pubsub.publish(channel, b"to all")
    assert await receive(first) == (channel, b"to all")
    assert await receive(second) == (channel, b"to all")
    await first.close()
    await second.close()


async def test_subscriber_receives_only_its_channels(pubsub: PubSub, channel: str) -> None:
    subscription = await pubsub.subscribe(f"{channel}:mine")
    await pubsub.publish(f"{channel}:other", b"not for me")
    await pubsub.publish(f"{channel}:mine", b"for me")
    assert await receive(subscription) == (f"{channel}:mine", b"for me")
    await subscription.close()


async def test_subscribe_and_unsubscribe_more_channels(pubsub: PubSub, channel: str) -> None:
    room_a, room_b = f"{channel}:a", f"{channel}:b"
    subscription = await pubsub.subscribe(room_a)
    await subscription.subscribe(room_b)
    await pubsub.publish(room_b, b"b1")
    assert await receive(subscription) == (room_b, b"b1")

    await subscription.unsubscribe(room_a)
    await pubsub.publish(room_a, b"after unsubscribe")
    await pubsub.publish(room_b, b"b2")
    # Order is kept, so had room_a's message been delivered it would come first.
    assert await receive(subscription) == (room_b, b"b2")
    await subscription.close()


async def test_unsubscribing_every_channel_then_resubscribing(pubsub: PubSub, channel: str) -> None:
    subscription = await pubsub.subscribe(channel)
    await subscription.unsubscribe(channel)
    await pubsub.publish(channel, b"nobody listens")
    await subscription.subscribe(channel)
    await pubsub.publish(channel, b"back")
    assert await receive(subscription) == (channel, b"back")
    await subscription.close()


async def test_subscription_without_channels_can_add_them_later(pubsub: PubSub, channel: str) -> None:
    subscription = await pubsub.subscribe()
    await subscription.subscribe(channel)
    await pubsub.publish(channel, b"hi")
    assert await receive(subscription) == (channel, b"hi")
    await subscription.close()


async def test_close_ends_iteration_and_other_subscribers_continue(pubsub: PubSub, channel: str) -> None:
    closing = await pubsub.subscribe(channel)
    staying = await pubsub.subscribe(channel)

    async def drain() -> list[tuple[str, bytes]]:
        return [message async for message in closing]

    draining = asyncio.create_task(drain())
    await asyncio.sleep(0)
    await closing.close()
    assert await asyncio.wait_for(draining, 2.0) == []
    await closing.close()  # twice is harmless

    await pubsub.publish(channel, b"still here")
    assert await receive(staying) == (channel, b"still here")
    await staying.close()


async def test_slow_subscriber_loses_oldest_messages_without_blocking_publisher(
    pubsub_url: str, channel: str, caplog: pytest.LogCaptureFixture
) -> None:
    adapter: PubSub = (
        MemoryPubSub(max_pending=3)
        if pubsub_url == "memory://"
        else RedisPubSub.from_url(pubsub_url, max_pending=3)
    )
    await adapter.start()
    subscription = await adapter.subscribe(channel)
    assert isinstance(subscription, BufferedSubscription)
    caplog.set_level(logging.WARNING, logger="wealist_core.subscription_buffer")

    started = time.monotonic()
    for number in range(6):
        await adapter.publish(channel, str(number))
    assert time.monotonic() - started < 1.0
    while subscription.dropped < 3:  # Redis delivers in the background: wait until all six arrived
        assert time.monotonic() - started < 2.0, f"only {subscription.dropped} dropped"
        await asyncio.sleep(0.01)

    assert [await receive(subscription) for _ in range(3)] == [
        (channel, b"3"),
        (channel, b"4"),
        (channel, b"5"),
    ]
    assert any("fell behind" in record.getMessage() for record in caplog.records)

    await adapter.publish(channel, b"caught up")
    assert await receive(subscription) == (channel, b"caught up")
    await adapter.close()


# ---------------------------------------------------------------------------------------------- Redis only


@pytest.mark.redis
async def test_messages_cross_between_separate_redis_adapters(
    redis_url: str, settings_factory: Callable[..., Settings], channel: str
) -> None:
    """Two adapter instances stand for two processes of a split deployment."""
    settings = settings_factory()
    chat_process, gateway_process = build(redis_url, settings), build(redis_url, settings)
    await chat_process.start()
    await gateway_process.start()
    first = await gateway_process.subscribe(channel)
    second = await chat_process.subscribe(channel)
    await chat_process.publish(channel, b"from chat")
    await gateway_process.publish(channel, b"from gateway")
    assert [await receive(first) for _ in range(2)] == [(channel, b"from chat"), (channel, b"from gateway")]
    assert [await receive(second) for _ in range(2)] == [(channel, b"from chat"), (channel, b"from gateway")]
    await chat_process.close()  # closes its subscriptions too
    await gateway_process.close()


@pytest.mark.parametrize("url", ["redis://127.0.0.1:1/0", "rediss://:hunter2@127.0.0.1:1/0"])
async def test_start_on_unreachable_redis_names_the_setting(
    url: str, settings_factory: Callable[..., Settings]
) -> None:
    adapter = build(url, settings_factory(), setting="WEALIST_CHAT__PUBSUB_URL")
    try:
        with pytest.raises(AdapterUnavailable) as caught:
            await adapter.start()
    finally:
        await adapter.close()
    message = str(caught.value)
    assert "WEALIST_CHAT__PUBSUB_URL" in message
    assert "127.0.0.1:1/0" in message
    assert "hunter2" not in message
