"""In the split shape, ``/api/openapi.json`` of a process is its own document merged with its peers'.

Two applications in the test: ``south`` served on a real socket, ``north`` told (``WEALIST_PEERS__SOUTH``)
where south runs. Each declares a response model named ``Note`` with different fields, as two plugins
written apart may well do. The split shape behind NGINX is in ``test_gateway.py``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
import wealist_adapters.memory
from pydantic import create_model
from starlette.routing import BaseRoute

from tests.support.processes import free_port, serving
from wealist_core import PluginManifest, Settings, hookimpl
from wealist_core.app import create_app
from wealist_core.http import ApiModel, ApiRoute

SettingsFactory = Callable[..., Settings]
TOKEN = "test-service-token"  # settings_factory's


# Both are "Note" in their own process's document, as two plugins' models of one name would be.
NorthNote = create_model("Note", __base__=ApiModel, text=(str, ...))
SouthNote = create_model("Note", __base__=ApiModel, count=(int, ...))


def toy(name: str, model: type[ApiModel], value: ApiModel) -> object:
    class Toy:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest(name, prefixes=(f"/api/{name}",))

        @hookimpl
        def wealist_register_routes(self) -> list[BaseRoute]:
            async def note() -> Any:
                """The toy's note."""
                return value

            return [ApiRoute(f"/api/{name}/note", note, auth=False, response=model)]

    return Toy()


@pytest.fixture
async def north(settings_factory: SettingsFactory) -> AsyncIterator[httpx.AsyncClient]:
    south = create_app(
        settings_factory(),
        plugins=[toy("south", SouthNote, SouthNote(count=3))],
        adapters=[wealist_adapters.memory],
    )
    async with serving(south) as south_url:
        peers = {"south": south_url, "east": f"http://127.0.0.1:{free_port()}"}  # east does not answer
        app = create_app(
            settings_factory(peers=peers),
            plugins=[toy("north", NorthNote, NorthNote(text="hi"))],
            adapters=[wealist_adapters.memory],
        )
        async with (
            app.router.lifespan_context(app),
            httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://north") as client,
        ):
            yield client


async def test_the_document_has_the_peers_paths_and_names_the_peer_that_did_not_answer(
    north: httpx.AsyncClient,
) -> None:
    response = await north.get("/api/openapi.json")

    assert response.status_code == 200, response.text
    document = response.json()
    assert {"/api/north/note", "/api/south/note", "/health/live"} <= set(document["paths"])
    assert document["x-wealist-unavailable"] == ["east"]
    operation_ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(operation_ids) == len(set(operation_ids))  # still unique, as OpenAPI requires


async def test_a_peers_schema_of_the_same_name_is_renamed_not_overwritten(north: httpx.AsyncClient) -> None:
    document = (await north.get("/api/openapi.json")).json()
    schemas = document["components"]["schemas"]

    assert set(schemas["Note"]["properties"]) == {"text"}  # north's own
    assert set(schemas["Note_south"]["properties"]) == {"count"}  # south's, under a new name
    south_operation = json.dumps(document["paths"]["/api/south/note"])
    north_operation = json.dumps(document["paths"]["/api/north/note"])
    assert "#/components/schemas/Note_south" in south_operation
    assert '#/components/schemas/Note"' in north_operation


async def test_the_own_document_is_internal_and_needs_the_service_token(north: httpx.AsyncClient) -> None:
    anonymous = await north.get("/internal/openapi.json")
    trusted = await north.get("/internal/openapi.json", headers={"Authorization": f"Bearer {TOKEN}"})

    assert anonymous.status_code == 401
    assert anonymous.json()["code"] == "SERVICE_TOKEN_INVALID"
    assert trusted.status_code == 200
    assert "/api/north/note" in trusted.json()["paths"]
    assert "/api/south/note" not in trusted.json()["paths"]  # its own only: merging never loops
