"""Typed domain events: what a producer writes, what a consumer receives, what the manifest says.

``evp`` is a toy producer whose events are declared here, as a real one declares them in its contract
module; ``evreader`` consumes them through the host's event bus (``memory://``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import MetaData, select
from starlette.applications import Starlette
from wealist_adapters.sqlite.database import SqliteDatabase

from wealist_core import DomainEvent, Event, PluginManifest, Settings, hookimpl, subscribe
from wealist_core.cli import main
from wealist_core.db import outbox_table
from wealist_core.plugins import PluginHost
from wealist_core.testing import build_app


class Posted(DomainEvent):
    """Someone posted in a thread."""

    event_type = "evp.posted"
    event_key = "thread_id"

    thread_id: uuid.UUID
    author_name: str
    word_count: int


class Closed(DomainEvent):
    """A thread was closed (no ordering key)."""

    event_type = "evp.closed"

    thread_id: uuid.UUID


class Foreign(DomainEvent):
    """An event of another plugin, which ``evp`` may not emit."""

    event_type = "evr.foreign"

    thing_id: uuid.UUID


class ProducerPlugin:
    """Declares no ``publishes``: the manifest derives it from the events above."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("evp", ports=("database",))


class ReaderPlugin:
    """Consumes ``evp.posted`` with ``@subscribe`` and ``evp.closed`` through the subscriptions hook."""

    def __init__(self) -> None:
        self.posted: list[Posted] = []
        self.closed: list[Closed] = []
        self.arrived = asyncio.Event()

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("evreader", ports=("eventbus",))

    @hookimpl
    def wealist_register_subscriptions(self) -> list[tuple[type[DomainEvent], Callable[..., Any]]]:
        return [(Closed, self.on_closed)]

    @subscribe(Posted)
    async def on_posted(self, event: Posted) -> None:
        self.posted.append(event)
        self.arrived.set()

    async def on_closed(self, event: Closed) -> None:
        self.closed.append(event)
        self.arrived.set()

    async def wait_until(self, done: Callable[[], bool], within: float = 5.0) -> None:
        async with asyncio.timeout(within):
            while not done():
                self.arrived.clear()
                await self.arrived.wait()


# ----------------------------------------------------------------------------------------- producing


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    db = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'events.db'}")
    await db.start()
    metadata = MetaData()
    outbox_table(metadata, "evp")
    async with db.engine.begin() as connection:
        await connection.run_sync(metadata.create_all)
    yield db
    await db.close()


async def test_a_typed_event_is_written_as_camel_case_json_with_its_ordering_key(
    database: SqliteDatabase,
) -> None:
    thread = uuid.uuid4()

    async with database.bound("evp").unit_of_work() as uow:
        uow.emit(Posted(thread_id=thread, author_name="Ada", word_count=3))
        uow.emit(Closed(thread_id=thread))

    outbox = outbox_table(MetaData(), "evp")
    async with database.engine.connect() as connection:
        rows = (await connection.execute(select(outbox).order_by(outbox.c.seq))).all()
    assert [(r.event_type, r.event_key, r.payload) for r in rows] == [
        ("evp.posted", str(thread), {"threadId": str(thread), "authorName": "Ada", "wordCount": 3}),
        ("evp.closed", None, {"threadId": str(thread)}),
    ]


async def test_emitting_an_event_of_another_plugin_s_prefix_is_refused(database: SqliteDatabase) -> None:
    async with database.bound("evp").unit_of_work() as uow:
        with pytest.raises(ValueError, match=re.escape("'evp.'")):
            uow.emit(Foreign(thing_id=uuid.uuid4()))

    outbox = outbox_table(MetaData(), "evp")
    async with database.engine.connect() as connection:
        assert (await connection.execute(select(outbox))).all() == [], "nothing recorded for the commit"


# ------------------------------------------------------------------------------------------ consuming


@pytest.fixture
def reader() -> ReaderPlugin:
    return ReaderPlugin()


@pytest.fixture
async def app(settings_factory: Callable[..., Settings], reader: ReaderPlugin) -> AsyncIterator[Starlette]:
    # Two quick attempts, so a payload that never fits becomes a dead letter within the test.
    settings = settings_factory(eventbus_url="memory://?retry_delay=0.01&max_attempts=2")
    application = build_app(settings, [reader])
    async with application.router.lifespan_context(application):
        yield application


def posted_payload(thread: uuid.UUID, **extra: Any) -> dict[str, Any]:
    return {"threadId": str(thread), "authorName": "Ada", "wordCount": 3, **extra}


async def test_a_subscriber_receives_the_typed_model(app: Starlette, reader: ReaderPlugin) -> None:
    bus = app.state.wealist.container.eventbus("evreader")
    thread = uuid.uuid4()

    await bus.publish(Event(type="evp.posted", payload=posted_payload(thread)))
    await bus.publish(Event(type="evp.closed", payload={"threadId": str(thread)}))
    await reader.wait_until(lambda: bool(reader.posted and reader.closed))

    (posted,) = reader.posted
    assert isinstance(posted, Posted)
    assert (posted.thread_id, posted.author_name, posted.word_count) == (thread, "Ada", 3)
    assert isinstance(reader.closed[0], Closed), "a (class, handler) pair of the hook gets the model too"


async def test_a_payload_with_a_field_the_consumer_does_not_know_still_arrives(
    app: Starlette, reader: ReaderPlugin
) -> None:
    bus = app.state.wealist.container.eventbus("evreader")
    thread = uuid.uuid4()

    await bus.publish(Event(type="evp.posted", payload=posted_payload(thread, mood="cheerful")))
    await reader.wait_until(lambda: bool(reader.posted))

    assert reader.posted[0].thread_id == thread
    assert "mood" not in reader.posted[0].model_dump(by_alias=True)


async def test_a_payload_missing_a_field_is_never_handled_and_becomes_a_dead_letter(
    app: Starlette, reader: ReaderPlugin
) -> None:
    bus = app.state.wealist.container.eventbus("evreader")
    broken = Event(type="evp.posted", payload={"threadId": str(uuid.uuid4()), "authorName": "Ada"})
    after = uuid.uuid4()

    await bus.publish(broken)
    await bus.publish(Event(type="evp.posted", payload=posted_payload(after)))
    await reader.wait_until(lambda: bool(reader.posted))

    assert [e.thread_id for e in reader.posted] == [after], (
        "the group moved on; the broken one was not handled"
    )
    (letter,) = await bus.dead_letters("evreader")
    assert letter.event is not None and letter.event.id == broken.id
    assert letter.attempts == 2
    assert "Posted" in letter.error and "wordCount" in letter.error


# -------------------------------------------------------------------------------------------- manifest


def test_the_manifest_derives_publishes_from_declared_events_and_consumes_from_subscribe(
    settings_factory: Callable[..., Settings],
) -> None:
    host = PluginHost(settings_factory(), plugins=[ProducerPlugin, ReaderPlugin])

    producer = host.installed["evp"].manifest
    consumer = host.installed["evreader"].manifest
    assert producer.publishes == ("evp.posted", "evp.closed"), "declared order, not another plugin's"
    assert "evp.posted" in consumer.consumes
    assert consumer.publishes == ()


@pytest.fixture
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith("WEALIST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WEALIST_DATA_DIR", str(tmp_path / "data"))
    yield


def test_wealist_plugins_lists_the_built_in_plugins_events_without_their_manifests_restating_them(
    clean_environment: None, capsys: pytest.CaptureFixture[str]
) -> None:
    from wealist_plugins.user import contract as user_contract

    status = main(["plugins", "--json"])

    assert status == 0
    listing = {p["name"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}
    declared = {
        cls.event_type
        for cls in vars(user_contract).values()
        if isinstance(cls, type) and issubclass(cls, DomainEvent) and cls.event_type.startswith("user.")
    }
    assert declared and declared <= set(listing["user"]["publishes"])
    assert "user.user_deleted" in listing["auth"]["consumes"]


# ------------------------------------------------------------------------------------------ declaring


def test_an_event_type_without_a_plugin_prefix_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=re.escape("<plugin>.<what_happened>")):

        class Unprefixed(DomainEvent):
            event_type = "posted"

    with pytest.raises(TypeError):

        class EmptyName(DomainEvent):
            event_type = "evq."


def test_an_event_type_declared_twice_with_different_classes_is_a_type_error() -> None:
    class Opened(DomainEvent):
        event_type = "evq.opened"

        thread_id: uuid.UUID

    with pytest.raises(TypeError, match="declared twice"):

        class Reopened(DomainEvent):
            event_type = "evq.opened"

            thread_id: uuid.UUID


def test_subscribe_takes_only_declared_event_classes() -> None:
    with pytest.raises(TypeError, match="DomainEvent"):
        subscribe("evp.posted")  # type: ignore[arg-type]
