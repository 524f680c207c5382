"""A member of another workspace walks every board route with this workspace's ids: 404 everywhere, nothing
shown, nothing changed."""

from __future__ import annotations

from tests.board.conftest import Team
from wealist_core.testing import Probe, plugin_named, probe_routes

P = "/api/boards/projects/{projectId}"


async def test_a_stranger_gets_404_on_every_route(team: Team, wealist_client) -> None:  # type: ignore[no-untyped-def]
    task = await team.task("Secret plan", assigneeId=str(team.bob))
    comment = (
        await team.client.post(
            f"/api/boards/tasks/{task['taskId']}/comments",
            json={"content": "Secret remark"},
            headers=team.h(team.bob),
        )
    ).json()
    fields = (
        await team.client.get(
            f"{P.format(projectId=team.project['projectId'])}/fields", headers=team.h(team.ada)
        )
    ).json()
    ids = {
        "workspaceId": str(team.workspace),
        "projectId": team.project["projectId"],
        "boardId": team.board["boardId"],
        "taskId": task["taskId"],
        "commentId": comment["commentId"],
        "columnId": team.columns[0]["columnId"],
        "userId": str(team.bob),
        "fieldId": fields[0]["fieldId"],
        "requestId": "00000000-0000-4000-8000-000000000000",
        "attachmentId": "00000000-0000-4000-8000-000000000000",
    }
    ws = {"workspaceId": "{workspaceId}"}
    calls = {
        ("POST", "/api/boards/projects"): Probe(body={"workspaceId": "{workspaceId}", "name": "x"}),
        ("GET", "/api/boards/projects"): Probe(query=ws),
        ("GET", P): Probe(),
        ("PATCH", P): Probe(body={"name": "taken"}),
        ("DELETE", P): Probe(),
        ("GET", P + "/members"): Probe(),
        ("POST", P + "/members"): Probe(body={"userId": "{userId}"}),
        ("PATCH", P + "/members/{userId}"): Probe(body={"role": "ADMIN"}),
        ("DELETE", P + "/members/{userId}"): Probe(),
        ("POST", P + "/join-requests"): Probe(body={}),
        ("GET", P + "/join-requests"): Probe(),
        ("POST", P + "/join-requests/{requestId}/approve"): Probe(),
        ("POST", P + "/join-requests/{requestId}/reject"): Probe(),
        ("GET", P + "/fields"): Probe(),
        ("POST", P + "/fields"): Probe(body={"key": "k", "name": "K", "type": "text"}),
        ("PATCH", P + "/fields/{fieldId}"): Probe(body={"name": "x"}),
        ("DELETE", P + "/fields/{fieldId}"): Probe(),
        ("GET", P + "/boards"): Probe(),
        ("POST", P + "/boards"): Probe(body={"name": "x"}),
        ("GET", P + "/activity"): Probe(),
        ("GET", P + "/online"): Probe(),
        ("GET", "/api/boards/{boardId}"): Probe(),
        ("PATCH", "/api/boards/{boardId}"): Probe(body={"name": "x"}),
        ("DELETE", "/api/boards/{boardId}"): Probe(),
        ("POST", "/api/boards/{boardId}/columns"): Probe(body={"name": "x"}),
        ("PATCH", "/api/boards/{boardId}/columns/{columnId}"): Probe(body={"name": "x"}),
        ("DELETE", "/api/boards/{boardId}/columns/{columnId}"): Probe(),
        ("POST", "/api/boards/{boardId}/tasks"): Probe(body={"title": "x"}),
        ("GET", "/api/boards/{boardId}/tasks"): Probe(),
        ("POST", "/api/boards/{boardId}/tasks/move"): Probe(
            body={"taskIds": ["{taskId}"], "columnId": "{columnId}"}
        ),
        ("GET", "/api/boards/tasks/mine"): Probe(query=ws),
        ("GET", "/api/boards/tasks/{taskId}"): Probe(),
        ("PATCH", "/api/boards/tasks/{taskId}"): Probe(body={"title": "x"}),
        ("DELETE", "/api/boards/tasks/{taskId}"): Probe(),
        ("POST", "/api/boards/tasks/{taskId}/move"): Probe(body={"columnId": "{columnId}"}),
        ("POST", "/api/boards/tasks/{taskId}/participants"): Probe(body={"userIds": ["{userId}"]}),
        ("DELETE", "/api/boards/tasks/{taskId}/participants/{userId}"): Probe(),
        ("GET", "/api/boards/tasks/{taskId}/activity"): Probe(),
        ("GET", "/api/boards/tasks/{taskId}/comments"): Probe(),
        ("POST", "/api/boards/tasks/{taskId}/comments"): Probe(body={"content": "x"}),
        ("PATCH", "/api/boards/comments/{commentId}"): Probe(body={"content": "x"}),
        ("DELETE", "/api/boards/comments/{commentId}"): Probe(),
        ("POST", "/api/boards/attachments"): Probe(
            body={
                "workspaceId": "{workspaceId}",
                "fileName": "a.pdf",
                "contentType": "application/pdf",
                "size": 10,
            }
        ),
        ("GET", "/api/boards/attachments/{attachmentId}/download"): Probe(),
        ("DELETE", "/api/boards/attachments/{attachmentId}"): Probe(),
    }
    app = wealist_client._transport.app  # type: ignore[attr-defined]
    assert plugin_named(app, "board") is not None
    await probe_routes(
        app,
        wealist_client,
        plugin="board",
        calls=calls,
        ids=ids,
        headers=team.h(team.stranger),
        secrets=["Secret plan", "Secret remark"],
    )
    still = (await team.client.get(f"/api/boards/tasks/{task['taskId']}", headers=team.h(team.ada))).json()
    assert still["title"] == "Secret plan" and still["assigneeId"] == str(team.bob)
