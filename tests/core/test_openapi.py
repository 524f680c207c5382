"""The OpenAPI document: valid OpenAPI 3.1, built from the routes, so it cannot drift from the code."""

from __future__ import annotations

import datetime as dt
import enum
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.websockets import WebSocket

from wealist_core import PluginManifest, Settings, hookimpl
from wealist_core.app import create_app
from wealist_core.http import ApiModel, ApiRoute, Page

SettingsFactory = Callable[..., Settings]


class Status(enum.Enum):
    OPEN = "OPEN"
    DONE = "DONE"


class Item(ApiModel):
    item_id: uuid.UUID
    created_at: dt.datetime
    due_date: dt.date | None = None
    status: Status = Status.OPEN


class NewItem(ApiModel):
    item_title: str
    label_names: list[str] = []


class ItemQuery(ApiModel):
    label_name: list[str] = []
    page_size: int = 20
    cursor: str | None = None


async def list_items(query: ItemQuery) -> Page[Item]:
    """List the items of the toy."""
    return Page[Item](items=[])


async def create_item(body: NewItem) -> Item:
    """Create an item."""
    raise AssertionError


async def item(item_id: uuid.UUID) -> Item:
    raise AssertionError


async def replace_item(item_id: uuid.UUID, body: NewItem) -> Item:
    raise AssertionError


async def drop_item(item_id: uuid.UUID) -> None:
    raise AssertionError


async def public_stats() -> Item:
    raise AssertionError


async def hidden() -> None:
    raise AssertionError


async def feed(websocket: WebSocket) -> None:
    raise AssertionError


async def raw(request: Request) -> Response:
    """A plain Starlette route."""
    return PlainTextResponse("raw")


API_ROUTES = [
    ApiRoute("/api/items", list_items, query=ItemQuery, response=Page[Item]),
    ApiRoute("/api/items", create_item, methods=["POST"], body=NewItem, response=Item, status_code=201),
    ApiRoute("/api/items/{item_id}", item, response=Item, errors=[404]),
    ApiRoute("/api/items/{item_id}", replace_item, methods=["PUT", "PATCH"], body=NewItem, response=Item),
    ApiRoute("/api/items/{item_id}", drop_item, methods=["DELETE"]),
    ApiRoute("/api/items/stats/public", public_stats, response=Item, auth=False),
]


class ItemsPlugin:
    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("items", prefixes=("/api/items", "/ws/items"))

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return [
            *API_ROUTES,
            ApiRoute("/api/items/secret/hidden", hidden, include_in_schema=False),
            WebSocketRoute("/ws/items", feed),
            Route("/api/items/raw/text", raw, methods=["GET", "POST"]),
        ]


@pytest.fixture
async def client(settings_factory: SettingsFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings_factory(), plugins=[ItemsPlugin])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://testserver") as http:
        yield http


@pytest.fixture
async def document(client: httpx.AsyncClient) -> dict[str, Any]:
    response = await client.get("/api/openapi.json")
    assert response.status_code == 200
    doc: dict[str, Any] = response.json()
    return doc


def resolve(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def test_the_document_is_valid_openapi_3_1(document: dict[str, Any]) -> None:
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_api_route_appears_with_each_of_its_methods(document: dict[str, Any]) -> None:
    for route in API_ROUTES:
        for method in route.methods or ():
            if method != "HEAD":
                template = re.sub(r":[a-z]+}", "}", route.path)  # converters are not part of the template
                assert method.lower() in document["paths"][template], (method, route.path)
    assert set(document["paths"]["/api/items/{item_id}"]) == {"get", "put", "patch", "delete"}


def test_operation_ids_are_unique_even_for_a_route_with_several_methods(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for ops in document["paths"].values() for op in ops.values()]
    assert len(ids) == len(set(ids))


def test_properties_are_camel_case(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["Item"]["properties"]) == {"itemId", "createdAt", "dueDate", "status"}
    assert set(schemas["NewItem"]["properties"]) == {"itemTitle", "labelNames"}
    page = resolve(
        document,
        document["paths"]["/api/items"]["get"]["responses"]["200"]["content"]["application/json"]["schema"],
    )
    assert set(page["properties"]) == {"items", "nextCursor"}


def test_request_bodies_responses_and_parameters_are_described(document: dict[str, Any]) -> None:
    create = document["paths"]["/api/items"]["post"]
    assert resolve(document, create["requestBody"]["content"]["application/json"]["schema"])["required"] == [
        "itemTitle"
    ]
    assert set(create["responses"]) == {"201", "400", "401", "413", "415", "422"}
    assert create["responses"]["422"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    listing = {p["name"]: p for p in document["paths"]["/api/items"]["get"]["parameters"]}
    assert {name: p["in"] for name, p in listing.items()} == {
        "labelName": "query",
        "pageSize": "query",
        "cursor": "query",
    }
    assert listing["labelName"]["schema"]["type"] == "array"
    (path_param,) = document["paths"]["/api/items/{item_id}"]["get"]["parameters"]
    assert path_param == {
        "name": "item_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "format": "uuid"},
    }
    assert "404" in document["paths"]["/api/items/{item_id}"]["get"]["responses"]
    assert set(document["paths"]["/api/items/{item_id}"]["delete"]["responses"]) >= {"204", "401"}


def test_security_is_required_on_auth_routes_only(document: dict[str, Any]) -> None:
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
    assert document["paths"]["/api/items"]["post"]["security"] == [{"bearer": []}]
    assert document["paths"]["/api/items/{item_id}"]["delete"]["security"] == [{"bearer": []}]
    public = document["paths"]["/api/items/stats/public"]["get"]
    assert "security" not in public and "401" not in public["responses"]


def test_other_public_routes_are_listed_and_hidden_ones_are_not(document: dict[str, Any]) -> None:
    paths = document["paths"]
    assert "101" in paths["/ws/items"]["get"]["responses"]
    assert set(paths["/api/items/raw/text"]) == {"get", "post"}
    assert paths["/api/items/raw/text"]["get"]["summary"] == "A plain Starlette route."
    assert "/health/live" in paths and "/health/ready" in paths
    for absent in ("/api/items/secret/hidden", "/metrics", "/api/openapi.json", "/api/docs"):
        assert absent not in paths
    assert not [p for p in paths if p.startswith("/internal")]


def test_summaries_come_from_handler_docstrings(document: dict[str, Any]) -> None:
    assert document["paths"]["/api/items"]["get"]["summary"] == "List the items of the toy."
    assert document["paths"]["/api/items"]["get"]["tags"] == ["items"]


async def test_the_docs_page_is_html_reading_the_document(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/docs")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "<html" in response.text and "/api/openapi.json" in response.text
