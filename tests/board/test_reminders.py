"""Due-date reminders: due-soon and overdue once per task and due date; done tasks are left alone."""

from __future__ import annotations

import datetime as dt
import uuid

from wealist_plugins.board.contract import TaskDueSoon, TaskOverdue
from wealist_plugins.board.jobs import send_reminders

from tests.board.conftest import Team
from wealist_core.testing import EventRecorder, plugin_named


async def test_reminders_are_sent_once_per_task_and_date(
    team: Team, wealist_client, wealist_events: EventRecorder
) -> None:  # type: ignore[no-untyped-def]
    deps = plugin_named(wealist_client._transport.app, "board").deps  # type: ignore[attr-defined]
    now = dt.datetime(2030, 1, 1, 12, tzinfo=dt.UTC)
    soon = await team.task("Soon", assigneeId=str(team.bob), dueDate="2030-01-02T00:00:00Z")
    late = await team.task("Late", assigneeId=str(team.bob), dueDate="2029-12-31T00:00:00Z")
    done = await team.task("Done", columnId=team.columns[3]["columnId"], dueDate="2029-12-31T00:00:00Z")
    await team.task("Later", dueDate="2030-03-01T00:00:00Z")
    assert await send_reminders(deps, now, dt.timedelta(hours=24)) == 2
    assert await send_reminders(deps, now, dt.timedelta(hours=24)) == 0
    due_soon = await wealist_events.wait_for(TaskDueSoon, task_id=uuid.UUID(soon["taskId"]))
    assert due_soon.watcher_ids == [team.bob]
    await wealist_events.wait_for(TaskOverdue, task_id=uuid.UUID(late["taskId"]))
    assert not wealist_events.received(TaskOverdue, task_id=uuid.UUID(done["taskId"]))
    await team.client.patch(
        f"/api/boards/tasks/{late['taskId']}",
        json={"dueDate": "2030-01-01T06:00:00Z"},
        headers=team.h(team.ada),
    )
    assert await send_reminders(deps, now, dt.timedelta(hours=24)) == 1  # a new due date is reminded again
