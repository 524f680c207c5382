"""Tasks: typed custom fields, bad input written nowhere, moves writing one rank, filters, comments."""

from __future__ import annotations

import uuid

from sqlalchemy import event
from wealist_plugins.board.contract import CommentAdded, TaskAssigned, TaskUpdated

from tests.board.conftest import Team
from wealist_core.testing import EventRecorder, assert_problem, on_both_backends, plugin_named


async def _tasks(team: Team, **params: object) -> list[dict]:  # type: ignore[type-arg]
    answer = await team.client.get(
        f"/api/boards/{team.board['boardId']}/tasks", params=params, headers=team.h(team.cy)
    )
    assert answer.status_code == 200, answer.text
    return answer.json()["items"]


@on_both_backends
async def test_a_task_with_fields_labels_and_people_and_its_events(
    team: Team, wealist_events: EventRecorder
) -> None:
    task = await team.task(
        "Ship it",
        assigneeId=str(team.bob),
        participantIds=[str(team.cy)],
        labels=["api", "api", "web"],
        fields={"importance": "urgent", "role": "developer"},
        dueDate="2030-01-02T00:00:00Z",
    )
    assert task["labels"] == ["api", "web"] and task["fields"] == {
        "importance": "urgent",
        "role": "developer",
    }
    assigned = await wealist_events.wait_for(TaskAssigned, task_id=uuid.UUID(task["taskId"]))
    assert assigned.assignee_id == team.bob and set(assigned.watcher_ids) == {team.bob, team.cy}
    patched = await team.client.patch(
        f"/api/boards/tasks/{task['taskId']}",
        json={"title": "Ship it now", "fields": {"importance": "low"}},
        headers=team.h(team.bob),
    )
    assert patched.status_code == 200, patched.text
    updated = await wealist_events.wait_for(TaskUpdated, task_id=uuid.UUID(task["taskId"]))
    assert {c.field: (c.before, c.after) for c in updated.changes} == {
        "title": ("Ship it", "Ship it now"),
        "field.importance": ("urgent", "low"),
    }
    history = (
        await team.client.get(f"/api/boards/tasks/{task['taskId']}/activity", headers=team.h(team.cy))
    ).json()["items"]
    assert {"title", "field.importance"} <= {a["field"] for a in history}


async def test_bad_input_is_422_naming_the_field_and_nothing_is_written(team: Team) -> None:
    await team.client.post(
        f"/api/boards/projects/{team.project['projectId']}/fields",
        json={"key": "points", "name": "Points", "type": "number"},
        headers=team.h(team.ada),
    )
    bid = team.board["boardId"]
    cases = [
        ({"title": ""}, "body.title"),
        ({"title": "x" * 201}, "body.title"),
        ({"title": "ok", "columnId": str(uuid.uuid4())}, "body.columnId"),
        ({"title": "ok", "fields": {"points": "many"}}, "body.fields.points"),
        ({"title": "ok", "fields": {"importance": "whenever"}}, "body.fields.importance"),
        ({"title": "ok", "fields": {"nope": 1}}, "body.fields.nope"),
        (
            {"title": "ok", "startDate": "2030-02-01T00:00:00Z", "dueDate": "2030-01-01T00:00:00Z"},
            "body.dueDate",
        ),
    ]
    for body, field in cases:
        answer = await team.client.post(f"/api/boards/{bid}/tasks", json=body, headers=team.h(team.ada))
        assert answer.status_code == 422, (body, answer.text)
        assert field in [e["field"] for e in answer.json()["errors"]], (body, answer.text)
    assert await _tasks(team) == []


async def test_moves_reorder_with_one_rank_and_bulk_moves_keep_order(team: Team) -> None:
    a, b, c = [await team.task(t) for t in "ABC"]
    doing = team.columns[1]["columnId"]
    first = team.columns[0]["columnId"]
    moved = await team.client.post(
        f"/api/boards/tasks/{c['taskId']}/move",
        json={"columnId": first, "afterTaskId": None},
        headers=team.h(team.bob),
    )
    assert moved.status_code == 200, moved.text
    assert [t["title"] for t in await _tasks(team)] == ["C", "A", "B"]
    await team.client.post(
        f"/api/boards/tasks/{a['taskId']}/move",
        json={"columnId": first, "afterTaskId": b["taskId"]},
        headers=team.h(team.bob),
    )
    assert [t["title"] for t in await _tasks(team)] == ["C", "B", "A"]
    bulk = await team.client.post(
        f"/api/boards/{team.board['boardId']}/tasks/move",
        json={"taskIds": [a["taskId"], c["taskId"]], "columnId": doing},
        headers=team.h(team.bob),
    )
    assert bulk.status_code == 200, bulk.text
    assert [t["title"] for t in await _tasks(team, columnId=doing)] == ["A", "C"]
    assert_problem(
        await team.client.post(
            f"/api/boards/tasks/{b['taskId']}/move",
            json={"columnId": str(uuid.uuid4())},
            headers=team.h(team.bob),
        ),
        422,
        "COLUMN_NOT_FOUND",
    )


async def test_filters_by_assignee_label_field_text_and_my_tasks(team: Team) -> None:
    await team.task("Alpha", assigneeId=str(team.bob), labels=["api"], fields={"role": "qa"})
    await team.task("Beta", labels=["web"], fields={"role": "designer"}, participantIds=[str(team.bob)])
    await team.task("Gamma")
    assert [t["title"] for t in await _tasks(team, assigneeId=str(team.bob))] == ["Alpha"]
    assert [t["title"] for t in await _tasks(team, label="web")] == ["Beta"]
    assert [t["title"] for t in await _tasks(team, **{"field.role": "qa"})] == ["Alpha"]
    assert [t["title"] for t in await _tasks(team, q="gam")] == ["Gamma"]
    assert [t["title"] for t in await _tasks(team, sort="title")] == ["Alpha", "Beta", "Gamma"]
    page = await team.client.get(
        f"/api/boards/{team.board['boardId']}/tasks", params={"limit": 2}, headers=team.h(team.cy)
    )
    rest = await team.client.get(
        f"/api/boards/{team.board['boardId']}/tasks",
        params={"limit": 2, "cursor": page.json()["nextCursor"]},
        headers=team.h(team.cy),
    )
    assert len(page.json()["items"]) == 2 and len(rest.json()["items"]) == 1
    mine = (
        await team.client.get(
            "/api/boards/tasks/mine", params={"workspaceId": str(team.workspace)}, headers=team.h(team.bob)
        )
    ).json()
    assert sorted(t["title"] for t in mine["items"]) == ["Alpha", "Beta"]


async def test_comments_mention_members_and_only_the_author_edits(
    team: Team, wealist_events: EventRecorder
) -> None:
    task = await team.task("Talk", participantIds=[str(team.cy)])
    text = f"@[Cy]({team.cy}) and @{team.stranger} look"
    added = await team.client.post(
        f"/api/boards/tasks/{task['taskId']}/comments", json={"content": text}, headers=team.h(team.bob)
    )
    assert added.status_code == 201, added.text
    assert added.json()["mentions"] == [str(team.cy)]  # a stranger is no mention
    event_ = await wealist_events.wait_for(CommentAdded, task_id=uuid.UUID(task["taskId"]))
    assert event_.mentioned_user_ids == [team.cy] and event_.preview.startswith("@[Cy]")
    cid = added.json()["commentId"]
    assert_problem(
        await team.client.patch(
            f"/api/boards/comments/{cid}", json={"content": "mine now"}, headers=team.h(team.ada)
        ),
        403,
        "NOT_COMMENT_AUTHOR",
    )
    assert (
        await team.client.patch(
            f"/api/boards/comments/{cid}", json={"content": "edited"}, headers=team.h(team.bob)
        )
    ).json()["editedAt"]
    assert (
        await team.client.delete(f"/api/boards/comments/{cid}", headers=team.h(team.ada))
    ).status_code == 204


@on_both_backends
async def test_listing_a_board_is_a_constant_number_of_queries(team: Team, wealist_client) -> None:  # type: ignore[no-untyped-def]
    engine = plugin_named(wealist_client._transport.app, "board").deps.database.engine  # type: ignore[attr-defined]
    statements: list[str] = []

    def count(conn, cursor, statement, *args) -> None:  # type: ignore[no-untyped-def]
        statements.append(statement)

    async def queries_for_listing() -> int:
        statements.clear()
        event.listen(engine.sync_engine, "before_cursor_execute", count)
        try:
            await _tasks(team, limit=1000)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", count)
        return len(statements)

    await team.task(
        "one", assigneeId=str(team.bob), participantIds=[str(team.cy)], labels=["x"], fields={"role": "qa"}
    )
    few = await queries_for_listing()
    for i in range(12):
        await team.task(
            f"t{i}",
            assigneeId=str(team.bob),
            participantIds=[str(team.cy)],
            labels=[f"l{i}"],
            fields={"role": "qa"},
        )
    assert await queries_for_listing() == few
    assert few <= 12  # the guard (project, role), the page, four side tables; no per-task query
