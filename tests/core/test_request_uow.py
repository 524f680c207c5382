"""The request's unit of work, on a SQLite file and on PostgreSQL: what a handler taking ``uow: UnitOfWork``
can rely on.

A toy plugin ``ruow`` writes notes and emits a typed event; a second toy plugin subscribes to that event by
class, so delivery is checked through the event bus as a consumer in another plugin would see it.
"""

from __future__ import annotations

import asyncio
import sqlite3
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Column, String, Table, Uuid, func, insert, select
from starlette.applications import Starlette

from wealist_core import (
    BoundDatabase,
    Conflict,
    Container,
    Database,
    DomainEvent,
    ModelRegistration,
    PluginError,
    PluginManifest,
    Settings,
    UnitOfWork,
    hookimpl,
    plugin_metadata,
    subscribe,
)
from wealist_core.http import ApiModel, ApiRoute, Controller, get, post, routes_of
from wealist_core.testing import EventRecorder, assert_problem, build_app, plugin_named, running

METADATA = plugin_metadata()
NOTES = Table(
    "ruow_note",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("text", String(100), nullable=False),
)


class NoteAdded(DomainEvent):
    event_type = "ruow.note_added"
    event_key = "note_id"

    note_id: uuid.UUID
    text: str


class NoteIn(ApiModel):
    text: str
    fail: bool = False
    failing_callback: bool = False


class NoteOut(ApiModel):
    note_id: uuid.UUID


class Notes(ApiModel):
    texts: list[str]
    writable: bool
    emit_refused: str | None = None


class NotesController(Controller):
    path = "/api/ruow/notes"
    auth = False

    def __init__(self, plugin: RuowPlugin) -> None:
        self.plugin = plugin

    @post("", status=201, errors=(409,))
    async def add_note(self, body: NoteIn, uow: UnitOfWork) -> NoteOut:
        note_id = uuid.uuid4()
        await uow.session.execute(insert(NOTES).values(id=note_id, text=body.text))
        uow.emit(NoteAdded(note_id=note_id, text=body.text))
        if body.failing_callback:
            uow.after_commit(self._fail)
        uow.after_commit(lambda: self.plugin.after_commit_sync.append(body.text))
        uow.after_commit(lambda: self.plugin.seen_after_commit(body.text))
        await uow.session.flush()  # the row is really written in the transaction before the refusal
        if body.fail:
            raise Conflict("The notebook is full.", code="NOTEBOOK_FULL")
        return NoteOut(note_id=note_id)

    @get("")
    async def list_notes(self, uow: UnitOfWork) -> Notes:
        texts = (await uow.session.execute(select(NOTES.c.text).order_by(NOTES.c.text))).scalars().all()
        refused = None
        try:
            uow.emit(NoteAdded(note_id=uuid.uuid4(), text="from a GET"))
        except RuntimeError as exc:
            refused = str(exc)
        return Notes(texts=list(texts), writable=uow.writable, emit_refused=refused)

    async def _fail(self) -> None:
        raise RuntimeError("the mail server is down")


class RuowPlugin:
    """Notes written in the request's unit of work."""

    def __init__(self) -> None:
        self.after_commit_sync: list[str] = []
        self.after_commit_committed: list[tuple[str, int]] = []
        self._database: Database | None = None

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("ruow", prefixes=("/api/ruow",), ports=("database",))

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self._database = container.database("ruow")

    @property
    def database(self) -> Database:
        assert self._database is not None, "configured by the host"
        return self._database

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("ruow", METADATA)]

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        return routes_of(NotesController(self))

    async def seen_after_commit(self, text: str) -> None:
        """A coroutine callback that looks from another connection: the note is committed already."""
        async with self.database.reading() as session:
            count = (
                await session.execute(select(func.count()).select_from(NOTES).where(NOTES.c.text == text))
            ).scalar_one()
        self.after_commit_committed.append((text, int(count)))


class ReaderPlugin:
    """Another plugin, consuming ``ruow.note_added`` by class through the bus."""

    def __init__(self) -> None:
        self.received: list[NoteAdded] = []
        self.arrived = asyncio.Event()

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("ruowreader", ports=("eventbus",))

    @subscribe(NoteAdded)
    async def on_note_added(self, event: NoteAdded) -> None:
        self.received.append(event)
        self.arrived.set()

    async def wait(self, count: int, within: float = 5.0) -> list[NoteAdded]:
        async with asyncio.timeout(within):
            while len(self.received) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.received


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'db' / 'wealist.db'}"
    return str(request.getfixturevalue("postgres_url"))


@pytest.fixture
def ruow() -> RuowPlugin:
    return RuowPlugin()


@pytest.fixture
def reader() -> ReaderPlugin:
    return ReaderPlugin()


@pytest.fixture
def app(
    database_url: str, settings_factory: Callable[..., Settings], ruow: RuowPlugin, reader: ReaderPlugin
) -> Starlette:
    settings = settings_factory(database_url=database_url, auto_migrate=True)
    return build_app(settings, [ruow, reader])


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    async with running(app) as client:
        yield client


def recorder(app: Starlette) -> EventRecorder:
    found = plugin_named(app, "test_events")
    assert isinstance(found, EventRecorder)
    return found


async def count_notes(ruow: RuowPlugin) -> int:
    async with ruow.database.reading() as session:
        return int((await session.execute(select(func.count()).select_from(NOTES))).scalar_one())


# --------------------------------------------------------------------------------------------- writes


async def test_a_post_s_writes_and_event_are_committed_when_the_handler_returns(
    client: httpx.AsyncClient, reader: ReaderPlugin, ruow: RuowPlugin
) -> None:
    answer = await client.post("/api/ruow/notes", json={"text": "first"})

    assert answer.status_code == 201, answer.text
    note_id = uuid.UUID(answer.json()["noteId"])
    assert await count_notes(ruow) == 1, "committed before the answer was sent"
    listed = await client.get("/api/ruow/notes")
    assert listed.json()["texts"] == ["first"]
    (event,) = await reader.wait(1)
    assert isinstance(event, NoteAdded)
    assert (event.note_id, event.text) == (note_id, "first")


async def test_a_refused_post_writes_nothing_and_publishes_nothing(
    client: httpx.AsyncClient, app: Starlette, reader: ReaderPlugin, ruow: RuowPlugin
) -> None:
    refused = await client.post("/api/ruow/notes", json={"text": "doomed", "fail": True})
    kept = await client.post("/api/ruow/notes", json={"text": "kept"})

    assert_problem(refused, 409, "NOTEBOOK_FULL")
    assert kept.status_code == 201, kept.text
    assert (await client.get("/api/ruow/notes")).json()["texts"] == ["kept"]
    # The outbox is relayed in order: once the later event arrived, an earlier one would have too.
    events = await reader.wait(1)
    assert [e.text for e in events] == ["kept"]
    await recorder(app).wait_for(NoteAdded, text="kept")
    assert [e.payload["text"] for e in recorder(app).events] == ["kept"]


# --------------------------------------------------------------------------------------- after commit


async def test_after_commit_callbacks_run_after_the_commit_and_never_after_a_rollback(
    client: httpx.AsyncClient, ruow: RuowPlugin
) -> None:
    await client.post("/api/ruow/notes", json={"text": "doomed", "fail": True})
    answer = await client.post("/api/ruow/notes", json={"text": "kept"})

    assert answer.status_code == 201, answer.text
    assert ruow.after_commit_sync == ["kept"]
    assert ruow.after_commit_committed == [("kept", 1)], "another connection saw the note: committed"


async def test_a_failing_after_commit_callback_does_not_turn_the_answer_into_a_500(
    client: httpx.AsyncClient, ruow: RuowPlugin, caplog: pytest.LogCaptureFixture
) -> None:
    answer = await client.post("/api/ruow/notes", json={"text": "mailed", "failingCallback": True})

    assert answer.status_code == 201, answer.text
    assert await count_notes(ruow) == 1
    assert ruow.after_commit_sync == ["mailed"], "the callbacks after the failing one still ran"
    assert ruow.after_commit_committed == [("mailed", 1)]
    assert any("after-commit callback" in r.getMessage() for r in caplog.records), "the failure is logged"


# --------------------------------------------------------------------------------------------- reads


async def test_a_get_s_unit_of_work_is_read_only(client: httpx.AsyncClient) -> None:
    answer = await client.get("/api/ruow/notes")

    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["writable"] is False
    assert body["emitRefused"] is not None and "read-only" in body["emitRefused"]


async def test_a_get_completes_while_another_connection_holds_a_write_transaction(
    client: httpx.AsyncClient, ruow: RuowPlugin, database_url: str
) -> None:
    await client.post("/api/ruow/notes", json={"text": "before"})
    bound = ruow.database
    assert isinstance(bound, BoundDatabase)
    database = bound.unbound  # the adapter itself, as another process's connection would use it

    async with database.unit_of_work(plugin="ruow") as holder:
        await holder.session.execute(insert(NOTES).values(id=uuid.uuid4(), text="uncommitted"))
        if database_url.startswith("sqlite"):
            # The write lock is really held: a writer that will not wait is refused.
            path = database_url.removeprefix("sqlite+aiosqlite:///")
            other = sqlite3.connect(path, timeout=0, isolation_level=None)
            try:
                with pytest.raises(sqlite3.OperationalError, match="locked"):
                    other.execute("BEGIN IMMEDIATE")
            finally:
                other.close()

        answer = await asyncio.wait_for(client.get("/api/ruow/notes"), timeout=3)

        assert answer.status_code == 200, answer.text
        assert answer.json()["texts"] == ["before"], "what is committed, not the open transaction's row"


async def test_the_container_s_database_is_bound_to_its_plugin_outside_a_request(
    client: httpx.AsyncClient, ruow: RuowPlugin, reader: ReaderPlugin
) -> None:
    # What a job or an event handler does: container.database(plugin).unit_of_work(), no plugin= given.
    note_id = uuid.uuid4()
    async with ruow.database.unit_of_work() as uow:
        await uow.session.execute(insert(NOTES).values(id=note_id, text="from a job"))
        uow.emit(NoteAdded(note_id=note_id, text="from a job"))

    (event,) = await reader.wait(1)
    assert event.note_id == note_id
    assert (await client.get("/api/ruow/notes")).json()["texts"] == ["from a job"]


# ------------------------------------------------------------------------------------------- start-up


class NoDatabasePlugin:
    """Asks for a unit of work without the database port."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("nodb", prefixes=("/api/nodb",))

    @hookimpl
    def wealist_register_routes(self) -> Sequence[ApiRoute]:
        async def list_things(uow: UnitOfWork) -> None:
            return None

        return [ApiRoute("/api/nodb/things", list_things, auth=False)]


def test_a_route_asking_for_a_unit_of_work_without_the_database_port_fails_start_up(
    settings_factory: Callable[..., Settings],
) -> None:
    with pytest.raises(PluginError) as caught:
        build_app(settings_factory(), [NoDatabasePlugin])

    message = str(caught.value)
    assert "/api/nodb/things" in message and "'nodb'" in message
    assert "'database'" in message and "ports" in message
