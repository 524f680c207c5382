"""Every hook of the host takes effect: the everything toy implements them all, and each is observed here."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import wealist_adapters.memory
import wealist_adapters.sqlite
from starlette.applications import Starlette
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from tests.plugins.everything import EverythingPlugin
from tests.support.processes import serving
from wealist_core import Settings
from wealist_core.app import create_app
from wealist_core.cli import main


def make_app(data_dir: Path) -> Starlette:
    settings = Settings.load(
        {},
        autoload=False,
        data_dir=data_dir,
        environment="test",
        service_token="test-service-token",
        secret_key="test-secret-key",
        log_format="text",
        overrides={"everything": {"keyvalue_url": "everything://", "greeting": "ahoy"}},
    )
    return create_app(
        settings, plugins=[EverythingPlugin], adapters=[wealist_adapters.memory, wealist_adapters.sqlite]
    )


def toy(app: Starlette) -> EverythingPlugin:
    plugin = app.state.wealist.host.active["everything"].obj
    assert isinstance(plugin, EverythingPlugin)
    return plugin


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    return make_app(tmp_path_factory.mktemp("everything") / "data")


@pytest.fixture(scope="module")
async def base_url(app: Starlette) -> AsyncIterator[str]:
    async with serving(app) as url:
        yield url


@pytest.fixture(scope="module")
async def client(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=base_url) as client:
        yield client


async def test_configure_adapters_and_routes_take_effect(client: httpx.AsyncClient) -> None:
    first = await client.get("/api/everything/state")
    second = await client.get("/api/everything/state")

    assert first.status_code == 200, first.text
    state = first.json()
    assert state["configured"] is True
    assert state["entered"] is True
    assert state["greeting"] == "ahoy"  # WEALIST_EVERYTHING__GREETING reached wealist_configure
    assert state["keyvalue"] == "EverythingKeyValue"  # the plugin's own adapter serves everything://
    assert second.json()["visits"] == state["visits"] + 1


async def test_middleware_wraps_plugin_and_host_routes(client: httpx.AsyncClient) -> None:
    for path in ("/api/everything/state", "/health/live", "/no/such/path"):
        assert (await client.get(path)).headers.get("x-everything") == "stamped", path


async def test_authenticate_gives_the_principal(client: httpx.AsyncClient) -> None:
    anonymous = await client.get("/api/everything/me")
    stranger = await client.get("/api/everything/me", headers={"Authorization": "Bearer not-ours"})
    empty = await client.get("/api/everything/me", headers={"Authorization": "Bearer everything:"})
    ada = await client.get("/api/everything/me", headers={"Authorization": "Bearer everything:ada"})

    assert (anonymous.status_code, anonymous.json()["code"]) == (401, "UNAUTHORIZED")
    assert (stranger.status_code, stranger.json()["code"]) == (401, "UNAUTHORIZED")
    assert (empty.status_code, empty.json()["code"]) == (401, "EVERYTHING_TOKEN_INVALID")
    assert ada.status_code == 200
    assert ada.json() == {"id": "ada", "kind": "user"}


async def test_websocket_route_authenticates_its_first_frame(base_url: str) -> None:
    url = base_url.replace("http://", "ws://") + "/ws/everything/echo"
    async with connect(url, open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "AUTH", "token": "everything:grace"}))
        assert json.loads(await ws.recv()) == {"type": "READY", "userId": "grace"}
        await ws.send("ping")
        assert json.loads(await ws.recv()) == {"echo": "ping", "userId": "grace"}

    async with connect(url, open_timeout=5) as ws:
        await ws.send(json.dumps({"type": "AUTH", "token": "somebody-else"}))
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_health_check_appears_in_readiness(client: httpx.AsyncClient, app: Starlette) -> None:
    healthy = await client.get("/health/ready")
    assert healthy.status_code == 200, healthy.text
    assert healthy.json()["checks"]["everything"] == "ok"

    toy(app).healthy = False
    try:
        sick = await client.get("/health/ready")
    finally:
        toy(app).healthy = True
    assert sick.status_code == 503
    assert sick.json()["failing"] == ["everything"]
    assert "told to be unwell" in sick.json()["checks"]["everything"]


async def test_subscription_receives_event_emitted_in_a_unit_of_work(
    client: httpx.AsyncClient, app: Starlette
) -> None:
    created = await client.post("/api/everything/notes", json={"text": "buy milk"})
    assert created.status_code == 201, created.text
    note = created.json()

    expected = {"type": "everything.note_added", "id": note["id"], "text": "buy milk"}
    async with asyncio.timeout(5):  # the outbox relay and the bus's consumer group run in the background
        while True:
            toy(app).arrived.clear()
            if expected in toy(app).received:
                break
            await toy(app).arrived.wait()
    assert toy(app).received.count(expected) == 1


async def test_lifespan_is_entered_at_start_and_exited_at_stop(tmp_path: Path) -> None:
    app = make_app(tmp_path / "data")
    plugin = toy(app)
    assert (plugin.entered, plugin.exited) == (False, False)
    async with serving(app):
        assert (plugin.entered, plugin.exited) == (True, False)
    assert (plugin.entered, plugin.exited) == (True, True)


@pytest.fixture
def everything_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in list(os.environ):
        if name.startswith("WEALIST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("WEALIST_PLUGIN_MODULES", "tests.plugins.everything:EverythingPlugin")
    monkeypatch.setenv("WEALIST_PLUGINS", "everything")
    monkeypatch.setenv("WEALIST_DATA_DIR", str(tmp_path / "data"))


@pytest.mark.usefixtures("everything_env")
def test_registered_command_runs_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["everything-hello", "--name", "ada"]) == 0
    assert capsys.readouterr().out == "hello ada from everything\n"


@pytest.mark.usefixtures("everything_env")
def test_plugins_command_lists_the_toy_and_its_adapter(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "--json"]) == 0
    listing: dict[str, Any] = json.loads(capsys.readouterr().out)

    (row,) = [p for p in listing["plugins"] if p["name"] == "everything"]
    assert row["prefixes"] == ["/api/everything", "/ws/everything"]
    assert row["runs"] == "this process"
    adapters = {(a["port"], a["name"]): a for a in listing["adapters"]}
    assert adapters[("keyvalue", "EverythingKeyValue")]["schemes"] == ["everything"]
    assert "plugin everything" in adapters[("keyvalue", "EverythingKeyValue")]["source"]
