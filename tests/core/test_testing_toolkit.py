"""The test toolkit, used as a plugin author uses it: a toy "kit" plugin with a table, a guarded route and an
event, tested through the fixtures of ``wealist_core.testing`` on both backends.

The toy needs ``user.Directory`` for its guard: the user plugin's in-memory Directory provides it, as it would
in the tests of board or chat.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence

import httpx
import pytest
from sqlalchemy import Column, String, Table, Uuid
from starlette.applications import Starlette
from starlette.requests import HTTPConnection
from starlette.routing import BaseRoute
from wealist_plugins.user.contract import MemberOf
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from wealist_core import (
    DomainEvent,
    ModelRegistration,
    PluginManifest,
    Principal,
    Settings,
    Unauthorized,
    UnitOfWork,
    hookimpl,
    plugin_metadata,
)
from wealist_core.http import ApiModel, CallerId, Controller, get, post, routes_of
from wealist_core.testing import (
    EventRecorder,
    Probe,
    assert_problem,
    assert_routes_need_a_token,
    build_app,
    headers_for,
    on_both_backends,
    probe_routes,
    running,
    token_for,
    with_options,
)

METADATA = plugin_metadata()
NOTES = Table(
    "kit_note",
    METADATA,
    Column("id", Uuid, primary_key=True),
    Column("workspace_id", Uuid, nullable=False),
    Column("text", String(200), nullable=False),
)


class NoteAdded(DomainEvent):
    event_type = "kit.note_added"

    note_id: uuid.UUID
    author_id: uuid.UUID
    text: str


class NoteIn(ApiModel):
    workspace_id: uuid.UUID
    text: str


class NoteOut(ApiModel):
    note_id: uuid.UUID


class Notes(Controller):
    path = "/api/kit/notes"
    tags = ("kit",)

    @post("", status=201)
    async def add(self, member: MemberOf, me: CallerId, body: NoteIn, uow: UnitOfWork) -> NoteOut:
        note_id = uuid.uuid4()
        await uow.session.execute(
            NOTES.insert().values(id=note_id, workspace_id=body.workspace_id, text=body.text)
        )
        uow.emit(NoteAdded(note_id=note_id, author_id=me, text=body.text))
        return NoteOut(note_id=note_id)

    @get("/motto", auth=False)
    async def motto(self) -> Motto:
        """Public, and the same for everyone: what a stranger walk must notice if it were a secret."""
        return Motto(text="notes for all")


class Motto(ApiModel):
    text: str


class KitPlugin:
    """Notes in workspaces: a table, a guarded route, an event."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("kit", prefixes=("/api/kit",), ports=("database",), needs=("user.Directory",))

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("kit", METADATA)]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return routes_of(Notes())


@pytest.fixture
def directory() -> InMemoryDirectory:
    return InMemoryDirectory()


@pytest.fixture
def wealist_plugins(directory: InMemoryDirectory) -> Sequence[object]:
    return [InMemoryUserPlugin(directory), KitPlugin]


# ------------------------------------------------------------------------------------------- fixtures


@on_both_backends
async def test_a_member_adds_a_note_and_its_event_arrives(
    wealist_client: httpx.AsyncClient,
    wealist_events: EventRecorder,
    wealist_settings: Settings,
    directory: InMemoryDirectory,
) -> None:
    ada, bob = directory.add_user("Ada"), directory.add_user("Bob")
    space = directory.add_workspace(ada.user_id, members=[bob.user_id])

    answer = await wealist_client.post(
        "/api/kit/notes", json={"workspaceId": str(space), "text": "hi"}, headers=headers_for(bob.user_id)
    )

    assert answer.status_code == 201, answer.text
    note_id = uuid.UUID(answer.json()["noteId"])
    typed = await wealist_events.wait_for(NoteAdded, note_id=note_id)
    assert (typed.author_id, typed.text) == (bob.user_id, "hi")
    envelope = await wealist_events.wait_for("kit.note_added", authorId=str(bob.user_id))
    assert envelope.payload["noteId"] == str(note_id)
    real = wealist_settings.effective_database_url.startswith("postgresql")
    assert real == (wealist_settings.eventbus_url.startswith("redis")), "one backend, every port on it"


async def test_a_stranger_gets_404_and_a_bad_test_token_401(
    wealist_client: httpx.AsyncClient, directory: InMemoryDirectory
) -> None:
    ada = directory.add_user("Ada")
    space = directory.add_workspace(ada.user_id)
    note = {"workspaceId": str(space), "text": "hi"}

    stranger = await wealist_client.post("/api/kit/notes", json=note, headers=headers_for(uuid.uuid4()))
    garbled = await wealist_client.post(
        "/api/kit/notes", json=note, headers={"Authorization": "Bearer test:ada"}
    )
    nobody = await wealist_client.post("/api/kit/notes", json=note)

    assert_problem(stranger, 404, "WORKSPACE_NOT_FOUND")
    assert_problem(garbled, 401, "TEST_TOKEN_INVALID")
    assert_problem(nobody, 401, "UNAUTHORIZED")


async def test_the_stranger_walk_checks_every_route_and_says_what_leaked(
    wealist_app: Starlette, wealist_client: httpx.AsyncClient, directory: InMemoryDirectory
) -> None:
    ada = directory.add_user("Ada")
    ids = {"workspaceId": str(directory.add_workspace(ada.user_id))}
    stranger = headers_for(uuid.uuid4())
    add = ("POST", "/api/kit/notes")
    motto = ("GET", "/api/kit/notes/motto")
    walk = {
        add: Probe(body={"workspaceId": "{workspaceId}", "text": "mine now"}),
        motto: Probe(refused=False),
    }

    answers = await probe_routes(
        wealist_app, wealist_client, plugin="kit", calls=walk, ids=ids, headers=stranger
    )
    assert answers[add].json()["code"] == "WORKSPACE_NOT_FOUND"

    with pytest.raises(AssertionError, match=r"without a Probe.*/api/kit/notes/motto"):
        await probe_routes(
            wealist_app, wealist_client, plugin="kit", calls={add: walk[add]}, ids=ids, headers=stranger
        )
    with pytest.raises(AssertionError, match="'notes for all' shown to a stranger"):
        await probe_routes(
            wealist_app,
            wealist_client,
            plugin="kit",
            calls=walk,
            ids=ids,
            headers=stranger,
            secrets=["notes for all"],
        )
    with pytest.raises(AssertionError, match=r"expected one of \[404\]: GET /api/kit/notes/motto -> 200"):
        await probe_routes(
            wealist_app,
            wealist_client,
            plugin="kit",
            calls={**walk, motto: Probe()},
            ids=ids,
            headers=stranger,
        )
    await assert_routes_need_a_token(wealist_app, wealist_client, plugin="kit", public=[motto])
    with pytest.raises(AssertionError, match="GET /api/kit/notes/motto -> 200"):
        await assert_routes_need_a_token(wealist_app, wealist_client, plugin="kit")


async def test_a_deleted_workspace_is_gone_for_its_members_too(
    wealist_client: httpx.AsyncClient, directory: InMemoryDirectory
) -> None:
    ada = directory.add_user("Ada")
    space = directory.add_workspace(ada.user_id)
    directory.delete_workspace(space)

    answer = await wealist_client.post(
        "/api/kit/notes", json={"workspaceId": str(space), "text": "hi"}, headers=headers_for(ada.user_id)
    )

    assert_problem(answer, 404, "WORKSPACE_NOT_FOUND")


async def test_waiting_for_an_event_that_never_comes_says_what_came(
    wealist_client: httpx.AsyncClient, wealist_events: EventRecorder, directory: InMemoryDirectory
) -> None:
    ada = directory.add_user("Ada")
    space = directory.add_workspace(ada.user_id)
    await wealist_client.post(
        "/api/kit/notes", json={"workspaceId": str(space), "text": "one"}, headers=headers_for(ada.user_id)
    )
    await wealist_events.wait_for(NoteAdded, text="one")

    with pytest.raises(AssertionError) as failure:
        await wealist_events.wait_for(NoteAdded, within=0.2, text="two")

    assert str(failure.value) == (
        "No kit.note_added event with text='two' arrived within 0.2 s; received: ['kit.note_added']"
    )
    assert wealist_events.received("kit.note_added", text="one") != []
    assert wealist_events.received(NoteAdded, text="two") == []


# ------------------------------------------------------------------------------------------- helpers


class RefusesEveryBearer:
    """Refuses every bearer token it cannot verify, as the auth plugin's verifier does."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("strict")

    @hookimpl
    def wealist_authenticate(self, request: HTTPConnection) -> Principal | None:
        if request.headers.get("authorization", "").startswith("Bearer "):
            raise Unauthorized("Not a token of ours.", code="STRICT_REFUSED")
        return None


async def test_the_test_authenticator_goes_before_one_that_refuses_other_tokens(
    settings_factory: Callable[..., Settings], directory: InMemoryDirectory
) -> None:
    app = build_app(settings_factory(), [RefusesEveryBearer, InMemoryUserPlugin(directory), KitPlugin])
    ada = directory.add_user("Ada")
    space = directory.add_workspace(ada.user_id)
    async with running(app) as client:
        mine = await client.post(
            "/api/kit/notes",
            json={"workspaceId": str(space), "text": "hi"},
            headers={"Authorization": f"Bearer {token_for(ada.user_id)}"},
        )
        other = await client.post(
            "/api/kit/notes",
            json={"workspaceId": str(space), "text": "hi"},
            headers={"Authorization": "Bearer jwt"},
        )

    assert mine.status_code == 201, mine.text
    assert_problem(other, 401, "STRICT_REFUSED")


def test_with_options_adds_plugin_options_as_the_environment_would(
    settings_factory: Callable[..., Settings],
) -> None:
    settings = settings_factory(overrides={"auth": {"argon2_time_cost": "3", "issuer": "x"}})

    changed = with_options(settings, "auth", {"ARGON2_TIME_COST": 1}, totp_issuer="Acme")

    assert changed.for_plugin("auth").option("argon2_time_cost") == "1"
    assert changed.for_plugin("auth").option("issuer") == "x"
    assert changed.for_plugin("auth").option("totp_issuer") == "Acme"
    assert settings.for_plugin("auth").option("argon2_time_cost") == "3", "the original is left alone"
