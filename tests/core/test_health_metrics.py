"""Liveness, readiness (adapters and plugin checks) and Prometheus metrics by route template and plugin."""

from __future__ import annotations

import asyncio
import types
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from tests.support.processes import free_port, serving
from wealist_core import AdapterContext, AdapterSpec, PluginManifest, Resource, Settings, hookimpl
from wealist_core.app import create_app
from wealist_core.http import ApiRoute

SettingsFactory = Callable[..., Settings]


class ToyResource(Resource):
    """A key-value 'server' whose health the test decides."""

    port = "keyvalue"

    def __init__(self) -> None:
        self.healthy = True
        self.started = False

    async def start(self) -> None:
        self.started = True

    async def check(self) -> None:
        if not self.healthy:
            raise ConnectionError("toy server went away")

    async def close(self) -> None:
        self.started = False


def toy_adapters(built: list[ToyResource]) -> types.ModuleType:
    module = types.ModuleType("toy_adapters")

    def factory(context: AdapterContext) -> Resource:
        built.append(ToyResource())
        return built[-1]

    module.wealist_register_adapters = hookimpl(  # type: ignore[attr-defined]
        lambda: [AdapterSpec("keyvalue", ("toy",), factory, "ToyKeyValue")]
    )
    return module


class Watched:
    """A plugin with one readiness check, a route with a path parameter, a slow route and a failing one."""

    def __init__(self) -> None:
        self.healthy = True
        self.release = asyncio.Event()
        self.entered = asyncio.Event()

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("watched", prefixes=("/api/watched",), ports=("keyvalue",))

    @hookimpl
    def wealist_health_checks(self) -> dict[str, Callable[[], Any]]:
        async def cache_warm() -> None:
            if not self.healthy:
                raise RuntimeError("cache is cold")

        return {"watched_cache": cache_warm}

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        async def item(item_id: uuid.UUID) -> None:
            return None

        async def slow() -> None:
            self.entered.set()
            await self.release.wait()

        async def broken() -> None:
            raise RuntimeError("bug")

        return [
            ApiRoute("/api/watched/items/{item_id}", item, auth=False),
            ApiRoute("/api/watched/slow", slow, auth=False),
            ApiRoute("/api/watched/broken", broken, auth=False),
        ]


@pytest.fixture
def built() -> list[ToyResource]:
    return []


@pytest.fixture
def plugin() -> Watched:
    return Watched()


@pytest.fixture
async def app(
    settings_factory: SettingsFactory, built: list[ToyResource], plugin: Watched
) -> AsyncIterator[Starlette]:
    application = create_app(
        settings_factory(keyvalue_url="toy://cache"), plugins=[plugin], adapters=[toy_adapters(built)]
    )
    async with application.router.lifespan_context(application):
        yield application


@pytest.fixture
async def client(app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def samples(client: httpx.AsyncClient, name: str) -> list[tuple[dict[str, str], float]]:
    response = await client.get("/metrics")
    assert response.status_code == 200
    found: list[tuple[dict[str, str], float]] = []
    for family in text_string_to_metric_families(response.text):
        found += [(s.labels, s.value) for s in family.samples if s.name == name]
    return found


def value(found: list[tuple[dict[str, str], float]], **labels: str) -> float:
    matching = [v for lab, v in found if all(lab.get(k) == want for k, want in labels.items())]
    return sum(matching)


# -------------------------------------------------------------------------------------------------- health


async def test_live_answers_while_the_process_runs(client: httpx.AsyncClient, plugin: Watched) -> None:
    plugin.healthy = False  # liveness does not depend on anything else
    response = await client.get("/health/live")
    assert (response.status_code, response.json()) == (200, {"status": "ok"})


async def test_ready_checks_adapters_and_plugins(client: httpx.AsyncClient, built: list[ToyResource]) -> None:
    assert built and built[0].started, "the lifespan opens the adapter"
    response = await client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "checks": {"keyvalue:toy://cache": "ok", "watched_cache": "ok"},
    }


async def test_ready_is_503_naming_a_failing_plugin_check(client: httpx.AsyncClient, plugin: Watched) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    plugin.healthy = False
    response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "failing" and body["failing"] == ["watched_cache"]
    assert body["checks"]["watched_cache"] == "failing: cache is cold"
    assert body["checks"]["keyvalue:toy://cache"] == "ok"


async def test_ready_is_503_naming_a_failing_adapter(
    client: httpx.AsyncClient, built: list[ToyResource]
) -> None:
    assert (await client.get("/health/ready")).status_code == 200
    built[0].healthy = False
    response = await client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["failing"] == ["keyvalue:toy://cache"]
    assert response.json()["checks"]["keyvalue:toy://cache"] == "failing: toy server went away"


async def test_ready_is_503_naming_a_peer_that_does_not_answer_and_never_its_password(
    settings_factory: SettingsFactory,
) -> None:
    async def live(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    alive = Starlette(routes=[Route("/health/live", live)])
    async with serving(alive) as alive_url:
        peers = {
            "ghost": f"http://ops:hunter2@127.0.0.1:{free_port()}",  # nothing listens there
            "alive": alive_url,
            "watched": "http://127.0.0.1:1",  # runs in this process: not a peer, not checked
        }
        application = create_app(
            settings_factory(keyvalue_url="toy://cache", peers=peers),
            plugins=[Watched()],
            adapters=[toy_adapters([])],
        )
        async with (
            application.router.lifespan_context(application),
            httpx.AsyncClient(transport=httpx.ASGITransport(application), base_url="http://t") as http,
        ):
            response = await http.get("/health/ready")

    assert response.status_code == 503, response.text
    body = response.json()
    assert body["failing"] == ["peer:ghost"]
    assert body["checks"]["peer:alive"] == "ok"
    assert "peer:watched" not in body["checks"]
    assert body["checks"]["peer:ghost"].startswith(
        "failing: 'ghost' does not answer at http://ops:***@127.0.0.1:"
    )
    assert "hunter2" not in response.text


async def test_the_lifespan_closes_the_adapters(
    settings_factory: SettingsFactory, built: list[ToyResource]
) -> None:
    application = create_app(
        settings_factory(keyvalue_url="toy://cache"), plugins=[Watched()], adapters=[toy_adapters(built)]
    )
    async with application.router.lifespan_context(application):
        assert built[0].started
    assert not built[0].started


# ------------------------------------------------------------------------------------------------- metrics


async def test_requests_are_counted_by_route_template_and_plugin(client: httpx.AsyncClient) -> None:
    for _ in range(2):
        assert (await client.get(f"/api/watched/items/{uuid.uuid4()}")).status_code == 204
    await client.get("/health/live")
    await client.get("/api/nowhere")

    found = await samples(client, "wealist_http_requests_total")
    template = "/api/watched/items/{item_id}"
    assert value(found, route=template, plugin="watched", method="GET", status="204") == 2
    assert not [
        lab for lab, _ in found if lab["route"].startswith("/api/watched/items/") and lab["route"] != template
    ]
    assert value(found, route="/health/live", plugin="host", status="200") == 1
    assert value(found, route="<unmatched>", plugin="host", status="404") == 1

    latency = await samples(client, "wealist_http_request_duration_seconds_count")
    assert value(latency, route=template, plugin="watched") == 2


async def test_the_in_flight_gauge_counts_requests_being_served(
    client: httpx.AsyncClient, plugin: Watched
) -> None:
    slow = asyncio.create_task(client.get("/api/watched/slow"))
    await asyncio.wait_for(plugin.entered.wait(), 2)
    # The slow request and the /metrics request itself.
    assert value(await samples(client, "wealist_http_requests_in_flight")) == 2
    plugin.release.set()
    assert (await asyncio.wait_for(slow, 2)).status_code == 204
    assert value(await samples(client, "wealist_http_requests_in_flight")) == 1


async def test_server_errors_are_counted_and_client_errors_are_not(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/watched/broken")).status_code == 500
    # A segment that is no UUID matches no route: a client error, never counted as a server error.
    assert (await client.get("/api/watched/items/not-a-uuid")).status_code == 404

    errors = await samples(client, "wealist_http_errors_total")
    assert value(errors, route="/api/watched/broken", plugin="watched", method="GET") == 1
    assert value(errors, route="/api/watched/items/{item_id}") == 0
    requests = await samples(client, "wealist_http_requests_total")
    assert value(requests, route="/api/watched/broken", status="500") == 1


async def test_two_applications_keep_separate_metrics(
    settings_factory: SettingsFactory, client: httpx.AsyncClient
) -> None:
    other = create_app(settings_factory(), plugins=[])
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(other), base_url="http://testserver"
    ) as second:
        await second.get("/health/live")
        await second.get("/health/live")
    await client.get("/health/live")
    assert value(await samples(client, "wealist_http_requests_total"), route="/health/live") == 1
