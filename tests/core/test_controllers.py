"""Controllers: routes declared once by their handler's signature, mounted in a real application.

A toy plugin ``ctl`` declares its routes in controller classes; every test talks to it through the host's
ASGI stack, with the test authenticator and one that speaks for a service.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import httpx
import pytest
from starlette.requests import HTTPConnection

from wealist_core import Conflict, PluginManifest, Principal, hookimpl
from wealist_core.http import (
    ApiModel,
    ApiRoute,
    Call,
    CallerId,
    Controller,
    Dependency,
    Field,
    delete,
    get,
    patch,
    post,
    put,
    routes_of,
)
from wealist_core.testing import assert_problem, bearer_credential, headers_for

ADA = uuid.UUID("0b7e3c1a-2f4d-4e5b-8c6d-7e8f90a1b2c3")


class ItemIn(ApiModel):
    item_name: str = Field(min_length=1, max_length=40)
    quantity: int = 1


class Item(ApiModel):
    item_id: uuid.UUID
    item_name: str
    quantity: int


class Search(ApiModel):
    name_prefix: str
    page_size: int = 20


class Echo(ApiModel):
    values: dict[str, Any]


class NoConflict(Dependency):
    """A dependency that can refuse with 409: every route using it lists 409 in OpenAPI."""

    errors = (409,)

    def __init__(self) -> None:
        self.calls = 0

    async def resolve(self, call: Call) -> str:
        if call.request.headers.get("x-conflict"):
            raise Conflict("The item changed meanwhile.", code="ITEM_CHANGED")
        # Counted per request through the memo: a second resolution in one request is not a second look-up.
        return await call.remember("ctl.no-conflict", self._look)

    async def _look(self) -> str:
        self.calls += 1
        return "clear"


NO_CONFLICT = NoConflict()
Clear = Annotated[str, NO_CONFLICT]


class Items(Controller):
    """Every shape of handler a plugin writes."""

    path = "/api/ctl/items"
    tags = ("items",)
    auth = False

    @post("", status=201)
    async def create_item(self, body: ItemIn) -> Item:
        """Create an item."""
        return Item(item_id=uuid.uuid4(), item_name=body.item_name, quantity=body.quantity)

    @get("")
    async def search_items(self, query: Search) -> Echo:
        return Echo(values=query.model_dump(by_alias=True))

    @get("/cached", headers={"Cache-Control": "public, max-age=60"})
    async def cached(self) -> Echo:
        return Echo(values={"cached": True})

    @get("/{itemId}")
    async def get_item(self, itemId: uuid.UUID) -> Item:
        return Item(item_id=itemId, item_name="found", quantity=1)

    @get("/{itemId}/revisions/{number}")
    async def get_revision(self, itemId: uuid.UUID, number: int) -> Echo:
        return Echo(values={"itemId": str(itemId), "number": number, "type": type(number).__name__})

    @put("/{itemId}")
    async def replace_item(self, itemId: uuid.UUID, body: ItemIn, clear: Clear) -> Item:
        return Item(item_id=itemId, item_name=body.item_name, quantity=body.quantity)

    @patch("/{itemId}", errors=(409,))
    async def patch_item(self, itemId: uuid.UUID, clear: Clear, again: Clear) -> Echo:
        return Echo(values={"clear": clear, "again": again})

    @delete("/{itemId}")
    async def delete_item(self, itemId: uuid.UUID) -> None:
        return None


class Callers(Controller):
    """Who is calling: optional principal, the caller's user id."""

    path = "/api/ctl/callers"
    tags = ("callers",)

    @get("/maybe", auth=False)
    async def maybe(self, principal: Principal | None) -> Echo:
        return Echo(values={"id": principal.id if principal else None})

    @get("/me")
    async def me(self, me: CallerId) -> Echo:
        return Echo(values={"me": str(me)})


class FixedFirst(Controller):
    """A fixed path declared before a catch-all: the fixed one answers."""

    path = "/api/ctl/first"
    auth = False

    @get("/latest")
    async def latest(self) -> Echo:
        return Echo(values={"by": "latest"})

    @get("/{slug}")
    async def by_slug(self, slug: str) -> Echo:
        return Echo(values={"by": "slug", "slug": slug})


class CatchAllFirst(Controller):
    """The same two routes the other way round: the catch-all, declared first, takes everything."""

    path = "/api/ctl/second"
    auth = False

    @get("/{slug}")
    async def by_slug(self, slug: str) -> Echo:
        return Echo(values={"by": "slug", "slug": slug})

    @get("/latest")
    async def latest(self) -> Echo:
        return Echo(values={"by": "latest"})


class CtlPlugin:
    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("ctl", prefixes=("/api/ctl",))

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        return routes_of(Items(), Callers(), FixedFirst(), CatchAllFirst())


class ServiceAuth:
    """``Bearer service:<name>`` is another Wealist process, as a service token would be."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("service_auth")

    @hookimpl
    def wealist_authenticate(self, request: HTTPConnection) -> Principal | None:
        name = bearer_credential(request, "service:")
        return None if name is None else Principal(id=name, kind="service")


@pytest.fixture
def wealist_plugins() -> Sequence[object]:
    return [CtlPlugin, ServiceAuth]


# ------------------------------------------------------------------------------------------ path types


async def test_a_uuid_path_parameter_reaches_the_handler_as_a_uuid(wealist_client: httpx.AsyncClient) -> None:
    item_id = uuid.uuid4()

    answer = await wealist_client.get(f"/api/ctl/items/{item_id}")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"itemId": str(item_id), "itemName": "found", "quantity": 1}


async def test_a_segment_that_is_not_a_uuid_is_a_404_problem(wealist_client: httpx.AsyncClient) -> None:
    assert_problem(await wealist_client.get("/api/ctl/items/not-a-uuid"), 404, "NOT_FOUND")
    assert_problem(await wealist_client.delete("/api/ctl/items/12345"), 404, "NOT_FOUND")


async def test_a_fixed_path_beside_a_uuid_parameter_is_never_read_as_an_id(
    wealist_client: httpx.AsyncClient,
) -> None:
    answer = await wealist_client.get("/api/ctl/items/cached")

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"values": {"cached": True}}


async def test_an_int_path_parameter_is_converted_and_a_word_there_is_a_404(
    wealist_client: httpx.AsyncClient,
) -> None:
    item_id = uuid.uuid4()

    number = await wealist_client.get(f"/api/ctl/items/{item_id}/revisions/7")
    word = await wealist_client.get(f"/api/ctl/items/{item_id}/revisions/seven")

    assert number.status_code == 200, number.text
    assert number.json()["values"] == {"itemId": str(item_id), "number": 7, "type": "int"}
    assert_problem(word, 404, "NOT_FOUND")


# ------------------------------------------------------------------------------------ statuses, bodies


async def test_a_handler_returning_none_answers_204_without_a_body(wealist_client: httpx.AsyncClient) -> None:
    answer = await wealist_client.delete(f"/api/ctl/items/{uuid.uuid4()}")

    assert answer.status_code == 204
    assert answer.content == b""


async def test_status_201_from_the_decorator_and_the_body_model_from_the_annotation(
    wealist_client: httpx.AsyncClient,
) -> None:
    created = await wealist_client.post("/api/ctl/items", json={"itemName": "pen", "quantity": 3})
    empty_name = await wealist_client.post("/api/ctl/items", json={"itemName": ""})
    unknown = await wealist_client.post("/api/ctl/items", json={"itemName": "pen", "colour": "red"})

    assert created.status_code == 201, created.text
    assert created.json()["itemName"] == "pen" and created.json()["quantity"] == 3
    assert [e["field"] for e in assert_problem(empty_name, 422, "VALIDATION_ERROR")["errors"]] == [
        "body.itemName"
    ]
    assert [e["field"] for e in assert_problem(unknown, 422, "VALIDATION_ERROR")["errors"]] == ["body.colour"]


async def test_the_query_model_comes_from_the_annotation(wealist_client: httpx.AsyncClient) -> None:
    found = await wealist_client.get("/api/ctl/items", params={"namePrefix": "pe", "pageSize": "5"})
    missing = await wealist_client.get("/api/ctl/items")

    assert found.status_code == 200, found.text
    assert found.json()["values"] == {"namePrefix": "pe", "pageSize": 5}
    assert [e["field"] for e in assert_problem(missing, 422, "VALIDATION_ERROR")["errors"]] == [
        "query.namePrefix"
    ]


async def test_headers_of_the_decorator_are_on_the_answer(wealist_client: httpx.AsyncClient) -> None:
    cached = await wealist_client.get("/api/ctl/items/cached")
    other = await wealist_client.get(f"/api/ctl/items/{uuid.uuid4()}")

    assert cached.headers["cache-control"] == "public, max-age=60"
    assert "cache-control" not in other.headers


# ------------------------------------------------------------------------------------ definition order


def test_routes_come_in_the_order_their_methods_are_defined() -> None:
    assert [r.name for r in Items().routes()] == [
        "create_item",
        "search_items",
        "cached",
        "get_item",
        "get_revision",
        "replace_item",
        "patch_item",
        "delete_item",
    ]
    assert [r.path for r in routes_of(FixedFirst(), CatchAllFirst())] == [
        "/api/ctl/first/latest",
        "/api/ctl/first/{slug}",
        "/api/ctl/second/{slug}",
        "/api/ctl/second/latest",
    ]


async def test_the_route_defined_first_answers_a_path_both_match(wealist_client: httpx.AsyncClient) -> None:
    fixed_first = await wealist_client.get("/api/ctl/first/latest")
    catch_all_first = await wealist_client.get("/api/ctl/second/latest")

    assert fixed_first.json() == {"values": {"by": "latest"}}
    assert catch_all_first.json() == {"values": {"by": "slug", "slug": "latest"}}


def test_a_subclass_inherits_the_routes_of_its_base_and_adds_its_own_after_them() -> None:
    class MoreItems(Items):
        @get("/{itemId}/history")
        async def history(self, itemId: uuid.UUID) -> Echo:
            return Echo(values={})

    routes = MoreItems().routes()

    assert [r.name for r in routes][-2:] == ["delete_item", "history"]
    assert routes[-1].path == "/api/ctl/items/{itemId:uuid}/history"
    assert routes[-1].tags == ("items",)


def test_a_subclass_that_redecorates_a_method_gets_its_own_route() -> None:
    class Renamed(Items):
        @post("/new", status=202)
        async def create_item(self, body: ItemIn) -> Item:
            return Item(item_id=uuid.uuid4(), item_name=body.item_name.upper(), quantity=body.quantity)

    (route,) = [r for r in Renamed().routes() if r.name == "create_item"]

    assert (route.path, route.status_code) == ("/api/ctl/items/new", 202)


def test_a_parameter_neither_injected_nor_in_the_path_is_a_type_error_when_routes_are_built() -> None:
    class Broken(Controller):
        path = "/api/ctl/broken"

        @get("/{itemId}")
        async def get_it(self, itemId: uuid.UUID, mystery: int) -> Echo:
            return Echo(values={})

    with pytest.raises(TypeError, match="mystery"):
        Broken().routes()


# --------------------------------------------------------------------------------------------- openapi


async def test_the_controller_path_and_tags_are_in_the_openapi_document(
    wealist_client: httpx.AsyncClient,
) -> None:
    paths = (await wealist_client.get("/api/openapi.json")).json()["paths"]

    item = paths["/api/ctl/items/{itemId}"]
    assert sorted(item) == ["delete", "get", "patch", "put"]
    assert {op["tags"][0] for op in item.values()} == {"items"}
    assert paths["/api/ctl/callers/me"]["get"]["tags"] == ["callers"]
    create = paths["/api/ctl/items"]["post"]
    assert create["operationId"] == "ctl.create_item"
    assert create["summary"] == "Create an item."
    assert "201" in create["responses"] and "200" not in create["responses"]
    assert "204" in item["delete"]["responses"]
    assert [p["name"] for p in item["get"]["parameters"]] == ["itemId"]
    assert item["get"]["parameters"][0]["schema"]["format"] == "uuid"
    search = paths["/api/ctl/items"]["get"]
    assert [(p["name"], p["in"], p["required"]) for p in search["parameters"]] == [
        ("namePrefix", "query", True),
        ("pageSize", "query", False),
    ]


async def test_a_dependency_s_errors_are_listed_in_the_openapi_responses(
    wealist_client: httpx.AsyncClient,
) -> None:
    paths = (await wealist_client.get("/api/openapi.json")).json()["paths"]

    replace = paths["/api/ctl/items/{itemId}"]["put"]["responses"]
    remove = paths["/api/ctl/items/{itemId}"]["delete"]["responses"]
    me = paths["/api/ctl/callers/me"]["get"]["responses"]
    assert "409" in replace, "NoConflict declares 409"
    assert "409" not in remove, "a route without the dependency does not list it"
    assert {"401", "403"} <= set(me), "CallerId refuses with 401 and 403"
    assert replace["409"]["content"]["application/problem+json"]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }


async def test_a_dependency_refuses_with_its_problem(wealist_client: httpx.AsyncClient) -> None:
    answer = await wealist_client.put(
        f"/api/ctl/items/{uuid.uuid4()}", json={"itemName": "pen"}, headers={"X-Conflict": "yes"}
    )

    assert_problem(answer, 409, "ITEM_CHANGED")


async def test_one_request_resolves_a_remembered_value_once(wealist_client: httpx.AsyncClient) -> None:
    before = NO_CONFLICT.calls

    first = await wealist_client.patch(f"/api/ctl/items/{uuid.uuid4()}")
    second = await wealist_client.patch(f"/api/ctl/items/{uuid.uuid4()}")

    assert first.json() == {"values": {"clear": "clear", "again": "clear"}}
    assert second.status_code == 200
    assert NO_CONFLICT.calls - before == 2, "once per request, not once per parameter, nor once for all"


# ---------------------------------------------------------------------------------------------- callers


async def test_an_optional_principal_is_none_without_a_token_and_the_caller_with_one(
    wealist_client: httpx.AsyncClient,
) -> None:
    anonymous = await wealist_client.get("/api/ctl/callers/maybe")
    signed_in = await wealist_client.get("/api/ctl/callers/maybe", headers=headers_for(ADA))

    assert anonymous.status_code == 200, anonymous.text
    assert anonymous.json() == {"values": {"id": None}}
    assert signed_in.json() == {"values": {"id": str(ADA)}}


async def test_caller_id_is_the_signed_in_user(wealist_client: httpx.AsyncClient) -> None:
    answer = await wealist_client.get("/api/ctl/callers/me", headers=headers_for(ADA))

    assert answer.status_code == 200, answer.text
    assert answer.json() == {"values": {"me": str(ADA)}}


async def test_caller_id_refuses_nobody_with_401_and_a_service_with_403(
    wealist_client: httpx.AsyncClient,
) -> None:
    nobody = await wealist_client.get("/api/ctl/callers/me")
    service = await wealist_client.get(
        "/api/ctl/callers/me", headers={"Authorization": "Bearer service:board"}
    )

    assert_problem(nobody, 401, "UNAUTHORIZED")
    assert_problem(service, 403, "USER_REQUIRED")


def test_an_api_route_on_its_own_is_declared_by_the_same_signature_rules() -> None:
    async def get_thing(thingId: uuid.UUID, query: Search) -> None:
        return None

    route = ApiRoute("/api/ctl/things/{thingId}", get_thing)

    assert route.path == "/api/ctl/things/{thingId:uuid}"
    assert route.status_code == 204
    assert route.query_model is Search
