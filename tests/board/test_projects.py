"""Projects: the creator owns them; a default board with the default stages and fields; members and roles."""

from __future__ import annotations

import httpx

from tests.board.conftest import Team
from wealist_core.testing import assert_problem, headers_for, on_both_backends


@on_both_backends
async def test_a_new_project_has_a_default_board_stages_and_fields(team: Team) -> None:
    assert team.project["myRole"] == "OWNER"
    assert [c["name"] for c in team.columns] == ["대기", "진행중", "검토", "완료"]
    assert [c["isDone"] for c in team.columns] == [False, False, False, True]
    fields = (
        await team.client.get(
            f"/api/boards/projects/{team.project['projectId']}/fields", headers=team.h(team.bob)
        )
    ).json()
    by_key = {f["key"]: f for f in fields}
    assert [o["value"] for o in by_key["importance"]["options"]] == ["urgent", "high", "normal", "low"]
    assert [o["value"] for o in by_key["role"]["options"]] == ["developer", "planner", "designer", "qa"]
    assert all(o["color"].startswith("#") for o in by_key["role"]["options"])


async def test_english_labels_on_request(team: Team) -> None:
    answer = await team.client.post(
        "/api/boards/projects",
        json={"workspaceId": str(team.workspace), "name": "Docs", "locale": "en"},
        headers=team.h(team.bob),
    )
    board = (
        await team.client.get(f"/api/boards/{answer.json()['defaultBoardId']}", headers=team.h(team.bob))
    ).json()
    assert [c["name"] for c in board["columns"]] == ["Pending", "In progress", "Review", "Done"]


async def test_list_search_archive_and_delete(team: Team) -> None:
    pid = team.project["projectId"]
    listed = (
        await team.client.get(
            "/api/boards/projects",
            params={"workspaceId": str(team.workspace), "q": "laun"},
            headers=team.h(team.cy),
        )
    ).json()
    assert [p["projectId"] for p in listed["items"]] == [pid]
    assert listed["items"][0]["myRole"] is None
    refused = await team.client.patch(
        f"/api/boards/projects/{pid}", json={"name": "Mine"}, headers=team.h(team.bob)
    )
    assert_problem(refused, 403, "PROJECT_ROLE_REQUIRED")
    archived = await team.client.patch(
        f"/api/boards/projects/{pid}", json={"archived": True}, headers=team.h(team.ada)
    )
    assert archived.json()["archived"] is True
    listed = (
        await team.client.get(
            "/api/boards/projects", params={"workspaceId": str(team.workspace)}, headers=team.h(team.ada)
        )
    ).json()
    assert listed["items"] == []
    await team.client.post(
        f"/api/boards/projects/{pid}/members",
        json={"userId": str(team.cy), "role": "ADMIN"},
        headers=team.h(team.ada),
    )
    assert_problem(
        await team.client.delete(f"/api/boards/projects/{pid}", headers=team.h(team.cy)),
        403,
        "PROJECT_ROLE_REQUIRED",
    )
    assert (
        await team.client.delete(f"/api/boards/projects/{pid}", headers=team.h(team.ada))
    ).status_code == 204
    assert_problem(
        await team.client.get(f"/api/boards/projects/{pid}", headers=team.h(team.ada)),
        404,
        "PROJECT_NOT_FOUND",
    )


async def test_due_date_before_start_is_refused_and_nothing_written(team: Team) -> None:
    answer = await team.client.post(
        "/api/boards/projects",
        json={
            "workspaceId": str(team.workspace),
            "name": "Bad",
            "startDate": "2030-02-01T00:00:00Z",
            "dueDate": "2030-01-01T00:00:00Z",
        },
        headers=team.h(team.ada),
    )
    body = assert_problem(answer, 422, "VALIDATION_ERROR")
    assert body["errors"][0]["field"] == "body.dueDate"
    listed = (
        await team.client.get(
            "/api/boards/projects", params={"workspaceId": str(team.workspace)}, headers=team.h(team.ada)
        )
    ).json()
    assert [p["name"] for p in listed["items"]] == ["Launch"]


async def test_join_request_approved_makes_a_member_who_may_write(team: Team) -> None:
    pid = team.project["projectId"]
    refused = await team.client.post(
        f"/api/boards/{team.board['boardId']}/tasks", json={"title": "x"}, headers=team.h(team.cy)
    )
    assert_problem(refused, 403, "PROJECT_MEMBER_REQUIRED")
    asked = await team.client.post(
        f"/api/boards/projects/{pid}/join-requests", json={}, headers=team.h(team.cy)
    )
    assert asked.status_code == 201, asked.text
    assert_problem(
        await team.client.post(f"/api/boards/projects/{pid}/join-requests", json={}, headers=team.h(team.cy)),
        409,
        "JOIN_REQUEST_PENDING",
    )
    rid = asked.json()["requestId"]
    assert_problem(
        await team.client.post(
            f"/api/boards/projects/{pid}/join-requests/{rid}/approve", headers=team.h(team.bob)
        ),
        403,
        "PROJECT_ROLE_REQUIRED",
    )
    approved = await team.client.post(
        f"/api/boards/projects/{pid}/join-requests/{rid}/approve", headers=team.h(team.ada)
    )
    assert approved.json()["status"] == "APPROVED"
    assert_problem(
        await team.client.post(
            f"/api/boards/projects/{pid}/join-requests/{rid}/reject", headers=team.h(team.ada)
        ),
        409,
        "JOIN_REQUEST_DECIDED",
    )
    await team.task("From Cy", by=team.cy)


async def test_the_last_owner_cannot_leave_and_roles_change(team: Team) -> None:
    pid = team.project["projectId"]
    assert_problem(
        await team.client.delete(f"/api/boards/projects/{pid}/members/{team.ada}", headers=team.h(team.ada)),
        409,
        "LAST_OWNER",
    )
    changed = await team.client.patch(
        f"/api/boards/projects/{pid}/members/{team.bob}", json={"role": "ADMIN"}, headers=team.h(team.ada)
    )
    assert changed.json()["role"] == "ADMIN"
    members = (await team.client.get(f"/api/boards/projects/{pid}/members", headers=team.h(team.cy))).json()
    assert {m["userId"]: m["role"] for m in members} == {str(team.ada): "OWNER", str(team.bob): "ADMIN"}
    not_in_ws = await team.client.post(
        f"/api/boards/projects/{pid}/members", json={"userId": str(team.stranger)}, headers=team.h(team.ada)
    )
    assert_problem(not_in_ws, 422, "NOT_A_WORKSPACE_MEMBER")


async def test_columns_added_reordered_limited_and_removed_with_their_tasks(team: Team) -> None:
    bid = team.board["boardId"]
    first, second = team.columns[0]["columnId"], team.columns[1]["columnId"]
    a = await team.task("A")
    board = (
        await team.client.post(
            f"/api/boards/{bid}/columns",
            json={"name": "Blocked", "color": "#FF0000", "position": 0},
            headers=team.h(team.ada),
        )
    ).json()
    assert [c["name"] for c in board["columns"]][:2] == ["Blocked", "대기"]
    blocked = board["columns"][0]["columnId"]
    limited = await team.client.patch(
        f"/api/boards/{bid}/columns/{second}", json={"wipLimit": 1, "name": "Doing"}, headers=team.h(team.ada)
    )
    assert limited.status_code == 200, limited.text
    await team.client.post(
        f"/api/boards/tasks/{a['taskId']}/move", json={"columnId": second}, headers=team.h(team.ada)
    )
    b = await team.task("B", columnId=first)
    full = await team.client.post(
        f"/api/boards/tasks/{b['taskId']}/move", json={"columnId": second}, headers=team.h(team.ada)
    )
    assert_problem(full, 409, "WIP_LIMIT_REACHED")
    no_target = await team.client.delete(f"/api/boards/{bid}/columns/{first}", headers=team.h(team.ada))
    assert_problem(no_target, 422, "VALIDATION_ERROR")
    gone = await team.client.delete(
        f"/api/boards/{bid}/columns/{first}", params={"moveTo": blocked}, headers=team.h(team.ada)
    )
    assert gone.status_code == 200, gone.text
    moved = (await team.client.get(f"/api/boards/tasks/{b['taskId']}", headers=team.h(team.ada))).json()
    assert moved["columnId"] == blocked


async def test_a_workspace_created_gets_a_default_project(
    wealist_client: httpx.AsyncClient, wealist_events, directory
) -> None:  # type: ignore[no-untyped-def]
    from wealist_plugins.user.contract import MemberAdded, Role

    ada = directory.add_user("Ada").user_id
    space = directory.add_workspace(ada, "Gemini")
    plugin = None
    from wealist_core.testing import plugin_named

    plugin = plugin_named(wealist_client._transport.app, "board")  # type: ignore[attr-defined]
    event = MemberAdded(
        workspace_id=space,
        workspace_name="Gemini",
        user_id=ada,
        user_name="Ada",
        role=Role.OWNER,
        actor_id=ada,
        actor_name="Ada",
        via="CREATED",
    )
    await plugin.on_member_added(event)
    await plugin.on_member_added(event)  # delivered twice: still one default project
    listed = (
        await wealist_client.get(
            "/api/boards/projects", params={"workspaceId": str(space)}, headers=headers_for(ada)
        )
    ).json()
    assert [(p["isDefault"], p["myRole"]) for p in listed["items"]] == [(True, "OWNER")]
