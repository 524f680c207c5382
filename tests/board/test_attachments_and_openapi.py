"""Attachments refused before a URL is signed; the OpenAPI document names the board routes of API.md."""

from __future__ import annotations

from tests.board.conftest import Team
from wealist_core.testing import assert_problem


async def test_forbidden_types_and_sizes_are_refused(team: Team) -> None:
    base = {
        "workspaceId": str(team.workspace),
        "fileName": "tool.exe",
        "contentType": "application/x-msdownload",
        "size": 10,
    }
    assert_problem(
        await team.client.post("/api/boards/attachments", json=base, headers=team.h(team.bob)),
        422,
        "UPLOAD_TYPE_NOT_ALLOWED",
    )
    big = {**base, "fileName": "a.pdf", "contentType": "application/pdf", "size": 50 * 1024 * 1024 + 1}
    assert_problem(
        await team.client.post("/api/boards/attachments", json=big, headers=team.h(team.bob)),
        413,
        "UPLOAD_TOO_LARGE",
    )
    ok = await team.client.post(
        "/api/boards/attachments", json={**big, "size": 1000}, headers=team.h(team.bob)
    )
    assert ok.status_code == 201, ok.text
    # pending: not visible to another member, and naming it from a task needs the file to have arrived
    other = await team.client.get(
        f"/api/boards/attachments/{ok.json()['attachmentId']}/download", headers=team.h(team.ada)
    )
    assert_problem(other, 404, "ATTACHMENT_NOT_FOUND")
    refused = await team.client.post(
        f"/api/boards/{team.board['boardId']}/tasks",
        json={"title": "x", "attachmentIds": [ok.json()["attachmentId"]]},
        headers=team.h(team.bob),
    )
    assert refused.status_code == 409, refused.text


API_MD = {
    "/api/boards/projects": {"get", "post"},
    "/api/boards/projects/{projectId}": {"get", "patch", "delete"},
    "/api/boards/projects/{projectId}/members": {"get", "post"},
    "/api/boards/projects/{projectId}/members/{userId}": {"patch", "delete"},
    "/api/boards/projects/{projectId}/join-requests": {"get", "post"},
    "/api/boards/projects/{projectId}/join-requests/{requestId}/approve": {"post"},
    "/api/boards/projects/{projectId}/join-requests/{requestId}/reject": {"post"},
    "/api/boards/projects/{projectId}/fields": {"get", "post"},
    "/api/boards/projects/{projectId}/fields/{fieldId}": {"patch", "delete"},
    "/api/boards/projects/{projectId}/boards": {"get", "post"},
    "/api/boards/projects/{projectId}/activity": {"get"},
    "/api/boards/projects/{projectId}/online": {"get"},
    "/api/boards/{boardId}": {"get", "patch", "delete"},
    "/api/boards/{boardId}/columns": {"post"},
    "/api/boards/{boardId}/columns/{columnId}": {"patch", "delete"},
    "/api/boards/{boardId}/tasks": {"get", "post"},
    "/api/boards/{boardId}/tasks/move": {"post"},
    "/api/boards/tasks/mine": {"get"},
    "/api/boards/tasks/{taskId}": {"get", "patch", "delete"},
    "/api/boards/tasks/{taskId}/move": {"post"},
    "/api/boards/tasks/{taskId}/participants": {"post"},
    "/api/boards/tasks/{taskId}/participants/{userId}": {"delete"},
    "/api/boards/tasks/{taskId}/activity": {"get"},
    "/api/boards/tasks/{taskId}/comments": {"get", "post"},
    "/api/boards/comments/{commentId}": {"patch", "delete"},
    "/api/boards/attachments": {"post"},
    "/api/boards/attachments/{attachmentId}/download": {"get"},
    "/api/boards/attachments/{attachmentId}": {"delete"},
    "/ws/boards": {"get"},  # the socket, documented by the host
}


async def test_openapi_lists_every_board_route(team: Team) -> None:
    spec = (await team.client.get("/api/openapi.json")).json()
    ours = {
        path: {m for m, op in ops.items() if op.get("operationId", "").startswith("board.")}
        for path, ops in spec["paths"].items()
    }
    assert {p: m for p, m in ours.items() if m} == API_MD
    schemas = spec["components"]["schemas"]
    assert {"taskId", "boardId", "columnId", "rank", "authorId"} <= set(schemas["TaskOut"]["properties"])
    assert {"404", "422"} <= set(spec["paths"]["/api/boards/{boardId}/tasks"]["post"]["responses"])
