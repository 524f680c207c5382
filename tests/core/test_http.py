"""Typed routes and the host's HTTP behaviour, through ``create_app`` and the real ASGI stack."""

from __future__ import annotations

import json
import logging
import re
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, Response
from starlette.routing import BaseRoute

from wealist_core import Conflict, PluginManifest, Principal, RateLimited, Settings, hookimpl
from wealist_core.app import create_app
from wealist_core.http import ApiModel, ApiRoute, Field
from wealist_core.observability import JsonFormatter, plugin_var, user_var
from wealist_core.testing import TestAuthPlugin, headers_for

SettingsFactory = Callable[..., Settings]
USER = uuid.UUID("5d1f0c2e-7a8b-4c3d-9e0f-112233445566")  # the caller of the authenticated routes


class NewTask(ApiModel):
    task_title: str
    story_points: int = 0
    labels: list[str] = []


class Task(ApiModel):
    task_id: uuid.UUID
    task_title: str
    story_points: int


class Filters(ApiModel):
    label: list[str] = []
    assignee_id: list[str] | None = None
    page_size: int = 20


class Echo(ApiModel):
    values: dict[str, Any]


async def create_task(body: NewTask) -> Task:
    return Task(task_id=uuid.uuid4(), task_title=body.task_title, story_points=body.story_points)


async def get_task(task_id: uuid.UUID) -> Task:
    return Task(task_id=task_id, task_title="found", story_points=1)


async def get_column(board_id: uuid.UUID, position: int) -> Echo:
    return Echo(values={"boardId": str(board_id), "position": position, "type": type(position).__name__})


async def list_tasks(query: Filters) -> Echo:
    return Echo(values=query.model_dump(by_alias=True))


async def delete_task(task_id: uuid.UUID) -> None:
    return None


async def get_tag(tag: Annotated[str, Field(pattern="^[a-z]+$")]) -> Echo:
    return Echo(values={"tag": tag})


async def plain(request: Any) -> Response:
    return PlainTextResponse("as is", status_code=202)


async def me(principal: Principal) -> Echo:
    logging.getLogger("toy.service").info("looked up myself")
    return Echo(values={"id": principal.id})


async def maybe_me(principal: Principal | None) -> Echo:
    return Echo(values={"id": principal.id if principal else None})


async def conflict() -> None:
    raise Conflict("The task was moved meanwhile.", code="TASK_MOVED")


async def limited() -> None:
    raise RateLimited("Slow down.", retry_after=7)


async def boom() -> None:
    raise RuntimeError("database password is hunter2")


async def small_body(body: Echo) -> Echo:
    return body


class ToyPlugin:
    """Every kind of route a plugin writes, under /api/toy."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest("toy", prefixes=("/api/toy",))

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        return [
            ApiRoute(
                "/api/toy/tasks",
                create_task,
                methods=["POST"],
                body=NewTask,
                response=Task,
                status_code=201,
                auth=False,
            ),
            ApiRoute("/api/toy/tasks", list_tasks, query=Filters, response=Echo, auth=False),
            ApiRoute("/api/toy/tasks/{task_id}", get_task, response=Task, auth=False),
            ApiRoute("/api/toy/tasks/{task_id}", delete_task, methods=["DELETE"], auth=False),
            ApiRoute(
                "/api/toy/boards/{board_id}/columns/{position:int}", get_column, response=Echo, auth=False
            ),
            ApiRoute("/api/toy/tags/{tag}", get_tag, auth=False),
            ApiRoute("/api/toy/plain", plain, auth=False),
            ApiRoute("/api/toy/me", me, response=Echo),
            ApiRoute("/api/toy/maybe-me", maybe_me, response=Echo, auth=False),
            ApiRoute("/api/toy/conflict", conflict, methods=["POST"], auth=False),
            ApiRoute("/api/toy/limited", limited, auth=False),
            ApiRoute("/api/toy/boom", boom, auth=False),
            ApiRoute(
                "/api/toy/small",
                small_body,
                methods=["POST"],
                body=Echo,
                response=Echo,
                auth=False,
                max_body_bytes=32,
            ),
        ]


def build(settings_factory: SettingsFactory, **values: Any) -> Starlette:
    return create_app(settings_factory(**values), plugins=[ToyPlugin, TestAuthPlugin])


@pytest.fixture
async def client(settings_factory: SettingsFactory) -> AsyncIterator[httpx.AsyncClient]:
    app = build(settings_factory, max_body_bytes=256, cors_origins="https://app.example")
    # The host answers an unhandled error itself and does not re-raise it (the server would log it twice):
    # the transport would turn a re-raised error into an exception in the test.
    transport = httpx.ASGITransport(app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    assert body["status"] == status and body["code"] == code
    assert body["requestId"] == response.headers["x-request-id"]
    return body


# ---------------------------------------------------------------------------------------------- bodies


async def test_a_valid_body_is_parsed_from_camel_case_and_answered_in_camel_case(
    client: httpx.AsyncClient,
) -> None:
    response = await client.post("/api/toy/tasks", json={"taskTitle": "Write docs", "storyPoints": 3})
    assert response.status_code == 201
    body = response.json()
    assert body["taskTitle"] == "Write docs" and body["storyPoints"] == 3
    assert uuid.UUID(body["taskId"])
    assert "task_title" not in body


async def test_a_missing_field_is_a_422_naming_it_in_camel_case(client: httpx.AsyncClient) -> None:
    body = assert_problem(
        await client.post("/api/toy/tasks", json={"storyPoints": 1}), 422, "VALIDATION_ERROR"
    )
    assert [e["field"] for e in body["errors"]] == ["body.taskTitle"]
    assert body["detail"].startswith("body.taskTitle:")


async def test_an_unknown_field_is_a_422_not_silence(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/toy/tasks", json={"taskTitle": "x", "priority": "high"})
    body = assert_problem(response, 422, "VALIDATION_ERROR")
    assert [(e["field"], e["type"]) for e in body["errors"]] == [("body.priority", "extra_forbidden")]


async def test_a_wrong_type_is_a_422_naming_every_bad_field(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/toy/tasks", json={"taskTitle": "x", "storyPoints": "many", "labels": "a"}
    )
    body = assert_problem(response, 422, "VALIDATION_ERROR")
    assert {e["field"] for e in body["errors"]} == {"body.storyPoints", "body.labels"}


async def test_malformed_json_is_a_400_malformed_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/toy/tasks", content=b'{"taskTitle": ', headers={"content-type": "application/json"}
    )
    assert_problem(response, 400, "MALFORMED_JSON")


async def test_a_body_that_is_not_json_is_a_415(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/toy/tasks", content=b"taskTitle=x", headers={"content-type": "text/plain"}
    )
    body = assert_problem(response, 415, "UNSUPPORTED_MEDIA_TYPE")
    assert "text/plain" in body["detail"]


async def test_json_with_a_charset_or_a_json_suffix_is_accepted(client: httpx.AsyncClient) -> None:
    for content_type in ("application/json; charset=utf-8", "application/merge-patch+json"):
        response = await client.post(
            "/api/toy/tasks", content=b'{"taskTitle": "x"}', headers={"content-type": content_type}
        )
        assert response.status_code == 201, (content_type, response.text)


async def test_a_body_over_the_limit_with_content_length_is_a_413(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/toy/tasks", json={"taskTitle": "x" * 300})
    assert "content-length" in response.request.headers
    body = assert_problem(response, 413, "PAYLOAD_TOO_LARGE")
    assert "256 bytes" in body["detail"]


async def test_a_chunked_body_over_the_limit_is_a_413(client: httpx.AsyncClient) -> None:
    chunks_sent = 0

    async def chunks() -> AsyncIterator[bytes]:
        nonlocal chunks_sent
        yield b'{"taskTitle": "'
        for _ in range(100):
            chunks_sent += 1
            yield b"x" * 50
        yield b'"}'

    response = await client.post(
        "/api/toy/tasks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert "content-length" not in response.request.headers
    assert response.request.headers["transfer-encoding"] == "chunked"
    assert_problem(response, 413, "PAYLOAD_TOO_LARGE")


async def test_a_chunked_body_under_the_limit_is_read_whole(client: httpx.AsyncClient) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for part in (b'{"taskTitle"', b': "in ', b'pieces"}'):
            yield part

    response = await client.post(
        "/api/toy/tasks", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 201 and response.json()["taskTitle"] == "in pieces"


async def test_a_route_can_set_a_smaller_body_limit(client: httpx.AsyncClient) -> None:
    assert (await client.post("/api/toy/small", json={"values": {}})).status_code == 200
    assert_problem(
        await client.post("/api/toy/small", json={"values": {"k": "v" * 40}}), 413, "PAYLOAD_TOO_LARGE"
    )


# ------------------------------------------------------------------------------------- path and query


async def test_path_parameters_are_converted_to_the_handler_annotations(client: httpx.AsyncClient) -> None:
    board_id = uuid.uuid4()
    response = await client.get(f"/api/toy/boards/{board_id}/columns/3")
    assert response.json() == {"values": {"boardId": str(board_id), "position": 3, "type": "int"}}

    task_id = uuid.uuid4()
    assert (await client.get(f"/api/toy/tasks/{task_id}")).json()["taskId"] == str(task_id)


async def test_a_uuid_path_parameter_takes_only_uuids(client: httpx.AsyncClient) -> None:
    # ``task_id: uuid.UUID`` makes the path ``{task_id:uuid}``: a segment that is no UUID names no task.
    assert_problem(await client.get("/api/toy/tasks/not-a-uuid"), 404, "NOT_FOUND")


async def test_a_path_parameter_failing_its_constraints_is_a_422(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/toy/tags/NOT-LOWER"), 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "path.tag"
    assert (await client.get("/api/toy/tags/bug")).json() == {"values": {"tag": "bug"}}


async def test_query_lists_take_repeated_parameters(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/toy/tasks?label=bug&label=ui&assigneeId=u1&assigneeId=u2&pageSize=5")
    assert response.status_code == 200, response.text
    assert response.json()["values"] == {"label": ["bug", "ui"], "assigneeId": ["u1", "u2"], "pageSize": 5}

    defaults = await client.get("/api/toy/tasks?label=only")
    assert defaults.json()["values"] == {"label": ["only"], "assigneeId": None, "pageSize": 20}


async def test_a_bad_query_value_is_a_422_naming_the_parameter(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.get("/api/toy/tasks?pageSize=lots"), 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "query.pageSize"


# ---------------------------------------------------------------------------------------- return values


async def test_none_is_a_204_without_a_body(client: httpx.AsyncClient) -> None:
    response = await client.delete(f"/api/toy/tasks/{uuid.uuid4()}")
    assert response.status_code == 204 and response.content == b""


async def test_a_response_is_sent_as_it_is(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/toy/plain")
    assert (response.status_code, response.text) == (202, "as is")


async def test_a_problem_error_keeps_its_status_and_code(client: httpx.AsyncClient) -> None:
    body = assert_problem(await client.post("/api/toy/conflict"), 409, "TASK_MOVED")
    assert body["detail"] == "The task was moved meanwhile."
    assert body["type"].endswith("/task-moved") and body["instance"] == "/api/toy/conflict"


async def test_rate_limited_carries_retry_after(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/toy/limited")
    assert assert_problem(response, 429, "RATE_LIMITED")["retryAfter"] == 7
    assert response.headers["retry-after"] == "7"


# ------------------------------------------------------------------------------------------ principals


async def test_an_auth_route_without_credentials_is_a_401(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/toy/me"), 401, "UNAUTHORIZED")


async def test_an_auth_route_gets_the_principal_of_the_authenticate_hook(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/toy/me", headers=headers_for(USER))
    assert response.json() == {"values": {"id": str(USER)}}


async def test_an_invalid_credential_is_the_401_the_hook_raised(client: httpx.AsyncClient) -> None:
    assert_problem(
        await client.get("/api/toy/me", headers={"authorization": "Bearer test:old"}),
        401,
        "TEST_TOKEN_INVALID",
    )


async def test_an_open_route_may_ask_for_an_optional_principal(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/toy/maybe-me")).json() == {"values": {"id": None}}
    signed_in = await client.get("/api/toy/maybe-me", headers=headers_for(USER))
    assert signed_in.json() == {"values": {"id": str(USER)}}


# ------------------------------------------------------------------------------------------ request ids


async def test_a_request_id_is_generated_when_none_is_sent(client: httpx.AsyncClient) -> None:
    first = (await client.get("/api/toy/plain")).headers["x-request-id"]
    second = (await client.get("/api/toy/plain")).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second


async def test_a_sane_request_id_is_kept(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/toy/plain", headers={"x-request-id": "gw-42.a:b_c"})
    assert response.headers["x-request-id"] == "gw-42.a:b_c"


@pytest.mark.parametrize("insane", ["has spaces", "<script>", "x" * 129, ""])
async def test_an_insane_request_id_is_replaced(client: httpx.AsyncClient, insane: str) -> None:
    response = await client.get("/api/toy/plain", headers={"x-request-id": insane})
    assert re.fullmatch(r"[0-9a-f]{32}", response.headers["x-request-id"])


async def test_log_lines_of_a_request_carry_its_id_plugin_and_user(client: httpx.AsyncClient) -> None:
    lines: list[dict[str, Any]] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(json.loads(JsonFormatter().format(record)))  # formatted while the request runs

    handler = Collect(level=logging.INFO)
    root = logging.getLogger()
    root.addHandler(handler)
    previous = root.level
    root.setLevel(logging.INFO)
    try:
        await client.get("/api/toy/me", headers={**headers_for(USER), "x-request-id": "req-7"})
    finally:
        root.removeHandler(handler)
        root.setLevel(previous)

    mine = next(line for line in lines if line["logger"] == "toy.service")
    assert (mine["requestId"], mine["plugin"], mine["userId"]) == ("req-7", "toy", str(USER))
    access = next(line for line in lines if line["logger"] == "wealist.access")
    assert (access["requestId"], access["plugin"], access["userId"], access["status"]) == (
        "req-7",
        "toy",
        str(USER),
        200,
    )
    assert plugin_var.get() is None and user_var.get() is None, "nothing leaks out of the request"


# ------------------------------------------------------------------------------------------ host errors


async def test_an_unhandled_error_is_a_500_problem_without_internals(
    client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    response = await client.get("/api/toy/boom", headers={"x-request-id": "trace-me-1"})
    body = assert_problem(response, 500, "INTERNAL_ERROR")
    assert body["requestId"] == "trace-me-1"
    assert (
        "Traceback" not in response.text
        and "hunter2" not in response.text
        and "RuntimeError" not in response.text
    )
    # The traceback goes to the log instead, where the request id finds it.
    (record,) = [r for r in caplog.records if r.name == "wealist.http"]
    assert record.exc_info is not None and "/api/toy/boom" in record.getMessage()


async def test_an_unknown_path_is_a_404_problem(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/api/toy/nothing-here"), 404, "NOT_FOUND")
    assert_problem(await client.get("/ws/elsewhere"), 404, "NOT_FOUND")


async def test_a_wrong_method_is_a_405_problem_saying_what_is_allowed(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/toy/plain")
    assert_problem(response, 405, "METHOD_NOT_ALLOWED")
    assert set(response.headers["allow"].replace(" ", "").split(",")) == {"GET", "HEAD"}


# ------------------------------------------------------------------------------------------------- CORS


async def test_a_preflight_from_a_configured_origin_is_allowed(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/toy/tasks",
        headers={
            "origin": "https://app.example",
            "access-control-request-method": "POST",
            "access-control-request-headers": "authorization, content-type",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "POST" in response.headers["access-control-allow-methods"]
    assert "authorization" in response.headers["access-control-allow-headers"].lower()


async def test_a_preflight_from_another_origin_is_refused(client: httpx.AsyncClient) -> None:
    response = await client.options(
        "/api/toy/tasks",
        headers={"origin": "https://evil.example", "access-control-request-method": "POST"},
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers


async def test_a_simple_request_from_a_configured_origin_sees_the_request_id(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get("/api/toy/plain", headers={"origin": "https://app.example"})
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert "x-request-id" in response.headers["access-control-expose-headers"].lower()


async def test_without_cors_origins_no_cors_headers_are_sent(settings_factory: SettingsFactory) -> None:
    transport = httpx.ASGITransport(build(settings_factory))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        response = await http.get("/api/toy/plain", headers={"origin": "https://app.example"})
    assert "access-control-allow-origin" not in response.headers


# ------------------------------------------------------------------------------------- route placement


def test_a_route_outside_the_plugin_prefixes_is_a_start_up_error(settings_factory: SettingsFactory) -> None:
    from wealist_core import PluginError

    class Stray:
        @hookimpl
        def wealist_plugin_manifest(self) -> PluginManifest:
            return PluginManifest("stray", prefixes=("/api/stray",))

        @hookimpl
        def wealist_register_routes(self) -> list[BaseRoute]:
            return [ApiRoute("/api/elsewhere", plain, auth=False)]

    with pytest.raises(PluginError, match="registers the route /api/elsewhere outside its prefixes"):
        create_app(settings_factory(), plugins=[Stray])


def test_a_handler_parameter_that_cannot_be_injected_is_refused() -> None:
    async def handler(task_id: str, mystery: int) -> None: ...

    with pytest.raises(TypeError, match=r"\['mystery'\] are neither injected nor in the path"):
        ApiRoute("/api/toy/{task_id}", handler)


def test_a_handler_taking_a_body_needs_a_body_model() -> None:
    async def handler(body: dict[str, Any]) -> None: ...

    with pytest.raises(TypeError, match="has no body model"):
        ApiRoute("/api/toy/x", handler, methods=["POST"])
