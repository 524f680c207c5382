"""Contract of the EventBus port: the in-process bus and Redis Streams deliver events the same way.

Every test polls with short timeouts; ``retry_delay`` and ``claim_after`` are set low through the URL, as an
operator would set them.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import pytest
from wealist_adapters import memory as memory_adapters
from wealist_adapters import redis as redis_adapters

from wealist_core import (
    AdapterContext,
    AdapterError,
    AdapterRegistry,
    AdapterUnavailable,
    Event,
    EventBus,
    Settings,
)
from wealist_core.eventbus import DeadLetter

BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]
SETTING = "WEALIST_EVENTBUS_URL"

MakeBus = Callable[..., Awaitable[EventBus]]


def build(url: str, settings: Settings, *, setting: str = SETTING) -> EventBus:
    """The adapter the host would pick for ``url``, through the adapters' own registrations."""
    registry = AdapterRegistry()
    registry.extend(memory_adapters.wealist_register_adapters(), "memory")
    registry.extend(redis_adapters.wealist_register_adapters(), "redis")
    spec = registry.resolve("eventbus", url, setting=setting)
    adapter = spec.factory(AdapterContext(url=url, settings=settings, setting=setting))
    assert isinstance(adapter, EventBus)
    return adapter


def with_options(url: str, **options: object) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urlencode(options)}" if options else url


@pytest.fixture(params=BACKENDS)
def bus_url(request: pytest.FixtureRequest) -> str:
    return "memory://" if request.param == "memory" else str(request.getfixturevalue("redis_url"))


@pytest.fixture
async def make_bus(bus_url: str, settings_factory: Callable[..., Settings]) -> AsyncIterator[MakeBus]:
    """Started buses on the test's backend (all on the same server for Redis), closed at the end."""
    opened: list[EventBus] = []
    settings = settings_factory()

    async def make(**options: object) -> EventBus:
        bus = build(with_options(bus_url, **{"retry_delay": 0.02, "claim_after": 0.3, **options}), settings)
        opened.append(bus)
        await bus.start()
        return bus

    yield make
    for bus in opened:
        await bus.close()


async def eventually(check: Callable[[], Any], within: float = 5.0) -> None:
    """Wait until ``check()`` (or the awaitable it returns) is truthy; fail after ``within`` seconds."""
    deadline = time.monotonic() + within
    while True:
        result = check()
        if asyncio.iscoroutine(result):
            result = await result
        if result:
            return
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {within} s")
        await asyncio.sleep(0.01)


async def lag(bus: EventBus, group: str) -> int:
    result: int = await bus.lag(group)  # type: ignore[attr-defined]
    return result


async def dead_letters(bus: EventBus, group: str) -> list[DeadLetter]:
    result: list[DeadLetter] = await bus.dead_letters(group)  # type: ignore[attr-defined]
    return result


class Recorder:
    """A handler that records the events it was given; raises for the first ``failures`` calls."""

    def __init__(self, failures: int = 0, fail_when: Callable[[Event], bool] | None = None) -> None:
        self.events: list[Event] = []
        self.calls = 0
        self.failures = failures
        self.fail_when = fail_when

    async def __call__(self, event: Event) -> None:
        self.calls += 1
        if self.calls <= self.failures or (self.fail_when is not None and self.fail_when(event)):
            raise RuntimeError(f"boom on call {self.calls}")
        self.events.append(event)

    @property
    def ids(self) -> list[str]:
        return [event.id for event in self.events]


def event(event_type: str = "board.task_assigned", **payload: Any) -> Event:
    return Event(type=event_type, payload=payload or {"taskId": "t1"}, key="w1")


# ------------------------------------------------------------------------------------------------ delivery


async def test_subscribed_group_receives_published_event(make_bus: MakeBus) -> None:
    bus = await make_bus()
    received = Recorder()
    bus.subscribe("noti", "board.task_assigned", received)
    await bus.start_consuming()
    sent = event(taskId="t1", assignees=["u1", "u2"], title="Fix the build é")
    await bus.publish(sent)
    await eventually(lambda: received.events)
    (got,) = received.events
    assert (got.id, got.type, dict(got.payload), got.occurred_at, got.key) == (
        sent.id,
        sent.type,
        dict(sent.payload),
        sent.occurred_at,
        sent.key,
    )
    await eventually(lambda: _is(lag(bus, "noti"), 0))


async def test_wildcard_takes_all_of_a_plugins_events_and_exact_type_only_its_own(make_bus: MakeBus) -> None:
    bus = await make_bus()
    everything, assigned = Recorder(), Recorder()
    bus.subscribe("audit", "board.*", everything)
    bus.subscribe("noti", "board.task_assigned", assigned)
    await bus.start_consuming()
    created, chat, assigned_event = event("board.task_created"), event("chat.message_sent"), event()
    for sent in (created, chat, assigned_event):
        await bus.publish(sent)
    await eventually(lambda: len(everything.events) == 2 and len(assigned.events) == 1)
    last = event()  # handled after everything before it, so nothing else is still on its way
    await bus.publish(last)
    await eventually(lambda: len(assigned.events) == 2 and len(everything.events) == 3)
    assert everything.ids == [created.id, assigned_event.id, last.id]
    assert assigned.ids == [assigned_event.id, last.id]


async def test_two_groups_each_receive_every_event(make_bus: MakeBus) -> None:
    bus = await make_bus()
    noti, chat = Recorder(), Recorder()
    bus.subscribe("noti", "board.task_assigned", noti)
    bus.subscribe("chat", "board.task_assigned", chat)
    await bus.start_consuming()
    sent = [event(n=i) for i in range(3)]
    for item in sent:
        await bus.publish(item)
    await eventually(lambda: len(noti.events) == 3 and len(chat.events) == 3)
    assert noti.ids == chat.ids == [item.id for item in sent]


async def test_events_published_before_consuming_started_are_replayed_in_order(make_bus: MakeBus) -> None:
    bus = await make_bus()
    early = [event(n=i) for i in range(5)]
    for item in early:
        await bus.publish(item)
    received = Recorder()
    bus.subscribe("noti", "board.*", received)
    await bus.start_consuming()
    late = [event("board.task_created" if i % 2 else "board.task_assigned", n=i) for i in range(30)]
    for item in late:
        await bus.publish(item)
    await eventually(lambda: len(received.events) == 35)
    assert received.ids == [item.id for item in early + late]


# ------------------------------------------------------------------------------------- failures and retries


async def test_failing_handler_is_retried_until_it_succeeds(make_bus: MakeBus) -> None:
    bus = await make_bus(max_attempts=5)
    flaky = Recorder(failures=2)
    bus.subscribe("noti", "board.task_assigned", flaky)
    await bus.start_consuming()
    sent = event()
    await bus.publish(sent)
    await eventually(lambda: flaky.events)
    assert flaky.calls == 3
    assert flaky.ids == [sent.id]
    await eventually(lambda: _is(lag(bus, "noti"), 0))
    assert await dead_letters(bus, "noti") == []


async def test_retry_does_not_run_again_the_handlers_that_succeeded(make_bus: MakeBus) -> None:
    bus = await make_bus()
    audit, flaky = Recorder(), Recorder(failures=1)
    bus.subscribe("noti", "board.*", audit)
    bus.subscribe("noti", "board.task_assigned", flaky)
    await bus.start_consuming()
    await bus.publish(event())
    await eventually(lambda: flaky.events)
    await eventually(lambda: _is(lag(bus, "noti"), 0))
    assert (audit.calls, flaky.calls) == (1, 2)


async def test_event_failing_max_attempts_times_becomes_a_dead_letter_and_the_group_moves_on(
    make_bus: MakeBus, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await make_bus(max_attempts=3)
    handler = Recorder(fail_when=lambda e: bool(e.payload.get("poison")))
    bus.subscribe("noti", "board.task_assigned", handler)
    await bus.start_consuming()
    poison, fine = event(poison=True), event()
    with caplog.at_level(logging.WARNING, logger="wealist.eventbus"):
        await bus.publish(poison)
        await bus.publish(fine)
        await eventually(lambda: handler.events)
    assert handler.ids == [fine.id]
    assert handler.calls == 4  # three attempts at the poison, one at the next event
    (letter,) = await dead_letters(bus, "noti")
    assert letter.event is not None and letter.event.id == poison.id
    assert (letter.group, letter.attempts) == ("noti", 3)
    assert "boom" in letter.error
    assert any(r.levelno == logging.ERROR and poison.id in r.getMessage() for r in caplog.records)
    await eventually(lambda: _is(lag(bus, "noti"), 0))


# ------------------------------------------------------------------------------------------- idempotency


async def test_event_published_twice_is_handled_once_per_group(make_bus: MakeBus) -> None:
    bus = await make_bus()
    noti, chat = Recorder(), Recorder()
    bus.subscribe("noti", "board.task_assigned", noti)
    bus.subscribe("chat", "board.task_assigned", chat)
    await bus.start_consuming()
    twice, after = event(), event()
    await bus.publish(twice)
    await bus.publish(twice)  # an outbox relay that crashed between publishing and deleting
    await bus.publish(after)
    await eventually(lambda: len(noti.events) == 2 and len(chat.events) == 2)
    assert noti.ids == chat.ids == [twice.id, after.id]
    assert noti.calls == chat.calls == 2


# ------------------------------------------------------------------------------------------ observability


async def test_lag_counts_the_events_a_group_has_not_finished(make_bus: MakeBus) -> None:
    bus = await make_bus()
    gate = asyncio.Event()
    started: list[Event] = []

    async def slow(received: Event) -> None:
        started.append(received)
        await gate.wait()

    bus.subscribe("noti", "board.task_assigned", slow)
    assert await lag(bus, "noti") == 0
    await bus.start_consuming()
    for i in range(3):
        await bus.publish(event(n=i))
    await eventually(lambda: started)
    assert await lag(bus, "noti") == 3
    gate.set()
    await eventually(lambda: _is(lag(bus, "noti"), 0))
    assert len(started) == 3


# ---------------------------------------------------------------------------------------------- misuse


async def test_subscriptions_are_checked(make_bus: MakeBus) -> None:
    bus = await make_bus()
    for bad in ("*", "board", "board.task_*", "*.task_assigned", ""):
        with pytest.raises(ValueError, match="must be"):
            bus.subscribe("noti", bad, Recorder())
    with pytest.raises(ValueError, match="plugin name"):
        bus.subscribe("no:colons", "board.*", Recorder())
    bus.subscribe("noti", "board.*", Recorder())
    await bus.start_consuming()
    with pytest.raises(RuntimeError, match="start_consuming"):
        bus.subscribe("noti", "chat.*", Recorder())


async def test_payload_that_is_not_json_fails_at_publish(make_bus: MakeBus) -> None:
    bus = await make_bus()
    with pytest.raises(TypeError):
        await bus.publish(Event(type="board.task_assigned", payload={"when": object()}))
    with pytest.raises(ValueError, match="plugin"):
        await bus.publish(Event(type="untyped", payload={}))


@pytest.mark.parametrize("option", ["max_attempts=zero", "retry_delay=-1", "colour=blue"])
async def test_bad_option_in_the_url_stops_start_up_naming_the_setting(
    bus_url: str, settings_factory: Callable[..., Settings], option: str
) -> None:
    url = f"{bus_url}{'&' if '?' in bus_url else '?'}{option}"
    bus: EventBus | None = None
    with pytest.raises(AdapterError, match=SETTING):
        bus = build(url, settings_factory())
        await bus.start()
    if bus is not None:
        await bus.close()


# ------------------------------------------------------------------------------------------- Redis only


@pytest.mark.redis
async def test_redis_event_held_by_a_crashed_consumer_is_redelivered_to_another(
    redis_url: str, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    url = with_options(redis_url, claim_after=0.3, retry_delay=0.02)
    first, second = build(url, settings), build(url, settings)
    started = asyncio.Event()

    async def hangs(received: Event) -> None:
        started.set()
        await asyncio.Event().wait()

    survivor = Recorder()
    try:
        await first.start()
        first.subscribe("noti", "board.task_assigned", hangs)
        await first.start_consuming()
        sent = event()
        await first.publish(sent)
        await asyncio.wait_for(started.wait(), 5)
        await first.close()  # the process dies before acknowledging
        await second.start()
        second.subscribe("noti", "board.task_assigned", survivor)
        await second.start_consuming()
        await eventually(lambda: survivor.events)
        assert survivor.ids == [sent.id]
        await eventually(lambda: _is(lag(second, "noti"), 0))
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_event_that_kills_every_consumer_becomes_a_dead_letter(
    redis_url: str, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    url = with_options(redis_url, claim_after=0.3, max_attempts=1)
    first, second = build(url, settings), build(url, settings)
    started = asyncio.Event()

    async def hangs(received: Event) -> None:
        started.set()
        await asyncio.Event().wait()

    survivor = Recorder()
    try:
        await first.start()
        first.subscribe("noti", "board.task_assigned", hangs)
        await first.start_consuming()
        sent = event()
        await first.publish(sent)
        await asyncio.wait_for(started.wait(), 5)
        await first.close()
        await second.start()
        second.subscribe("noti", "board.task_assigned", survivor)
        await second.start_consuming()
        await eventually(lambda: _is_len(dead_letters(second, "noti"), 1))
        (letter,) = await dead_letters(second, "noti")
        assert letter.event is not None and letter.event.id == sent.id
        assert "never acknowledged" in letter.error
        assert survivor.events == []
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_slow_handler_keeps_its_event_while_its_process_lives(
    redis_url: str, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    url = with_options(redis_url, claim_after=0.3)
    first, second = build(url, settings), build(url, settings)
    calls: list[str] = []

    async def slow(received: Event) -> None:
        calls.append(received.id)
        await asyncio.sleep(1.0)  # over three times claim_after

    try:
        await first.start()
        first.subscribe("noti", "board.task_assigned", slow)
        await first.start_consuming()
        await first.publish(event())
        await eventually(lambda: calls)
        await second.start()
        second.subscribe("noti", "board.task_assigned", slow)
        await second.start_consuming()
        await eventually(lambda: _is(lag(second, "noti"), 0))
        assert len(calls) == 1
    finally:
        await first.close()
        await second.close()


@pytest.mark.redis
async def test_redis_two_copies_of_an_event_on_two_consumers_are_handled_once(
    redis_url: str, settings_factory: Callable[..., Settings]
) -> None:
    settings = settings_factory()
    url = with_options(redis_url, claim_after=5, batch=1)
    buses = [build(url, settings), build(url, settings)]
    calls: list[str] = []

    async def slow(received: Event) -> None:
        calls.append(received.id)
        await asyncio.sleep(0.2)

    try:
        for bus in buses:
            await bus.start()
            bus.subscribe("noti", "board.task_assigned", slow)
            await bus.start_consuming()
        sent = event()
        await buses[0].publish(sent)
        await buses[0].publish(sent)
        await eventually(lambda: calls)
        await eventually(lambda: _is(lag(buses[0], "noti"), 0))
        assert calls == [sent.id]
    finally:
        for bus in buses:
            await bus.close()


@pytest.mark.redis
async def test_redis_start_against_unreachable_server_names_the_setting(
    settings_factory: Callable[..., Settings],
) -> None:
    bus = build("redis://:hunter2@127.0.0.1:1/0", settings_factory())
    try:
        with pytest.raises(AdapterUnavailable) as caught:
            await bus.start()
    finally:
        await bus.close()
    message = str(caught.value)
    assert SETTING in message and "127.0.0.1:1" in message
    assert "hunter2" not in message


async def _is(value: Awaitable[int], expected: int) -> bool:
    return await value == expected


async def _is_len(value: Awaitable[list[DeadLetter]], expected: int) -> bool:
    return len(await value) == expected
