"""The board's periodic jobs: due-date reminders, and the purge of attachments never saved."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

from sqlalchemy import exists, select
from wealist_plugins.board.contract import TaskDueSoon, TaskOverdue
from wealist_plugins.board.models import Column, Project, Reminder, Task, TaskParticipant
from wealist_plugins.board.services import Deps
from wealist_plugins.board.tasks import _event_base, _watchers

from wealist_core import Job, JobContext

__all__ = ["board_jobs", "send_reminders"]

BATCH = 500


async def send_reminders(deps: Deps, now: dt.datetime, due_soon: timedelta) -> int:
    """Emit ``TaskDueSoon`` for tasks due within ``due_soon`` and ``TaskOverdue`` for tasks past due, once
    per task, kind and due date (a new due date is reminded again); tasks in a done column are left out."""
    sent = 0
    for kind, window in (
        ("OVERDUE", Task.due_date <= now),
        ("DUE_SOON", (Task.due_date > now) & (Task.due_date <= now + due_soon)),
    ):
        while True:
            async with deps.database.unit_of_work() as uow:
                reminded = exists().where(
                    Reminder.task_id == Task.id, Reminder.kind == kind, Reminder.due_date == Task.due_date
                )
                stmt = (
                    select(Task, Project)
                    .join(Project, Project.id == Task.project_id)
                    .join(Column, Column.id == Task.column_id)
                    .where(
                        Task.due_date.is_not(None),
                        window,
                        Column.is_done.is_(False),
                        ~reminded,
                        Project.archived_at.is_(None),
                    )
                    .order_by(Task.due_date, Task.id)
                    .limit(BATCH)
                )
                rows = (await uow.session.execute(stmt)).all()
                ids = [task.id for task, _ in rows]
                people: dict[object, list[object]] = {}
                for task_id, user_id in await uow.session.execute(
                    select(TaskParticipant.task_id, TaskParticipant.user_id).where(
                        TaskParticipant.task_id.in_(ids)
                    )
                ):
                    people.setdefault(task_id, []).append(user_id)
                for task, project in rows:
                    assert task.due_date is not None
                    uow.session.add(Reminder(task_id=task.id, kind=kind, due_date=task.due_date, sent_at=now))
                    watchers = _watchers(task.assignee_id, people.get(task.id, []), None)  # type: ignore[arg-type]
                    base = _event_base(project, task, watchers)
                    event = TaskOverdue if kind == "OVERDUE" else TaskDueSoon
                    uow.emit(event(**base, due_date=task.due_date))
            sent += len(rows)
            if len(rows) < BATCH:
                break
    return sent


def board_jobs(deps: Deps, due_soon: timedelta) -> list[Job]:
    async def reminders(ctx: JobContext) -> None:
        sent = await send_reminders(deps, ctx.now, due_soon)
        if sent:
            ctx.log.info("sent due-date reminders", extra={"count": sent})

    async def purge_uploads(ctx: JobContext) -> None:
        purged = await deps.uploads.purge_all_expired(deps.database, now=ctx.now)
        if purged:
            ctx.log.info("purged attachments never saved", extra={"count": purged})

    return [
        Job(
            "due_reminders",
            reminders,
            every=timedelta(minutes=5),
            description="due-soon and overdue events, once per task and due date",
        ),
        Job(
            "purge_uploads",
            purge_uploads,
            every=timedelta(minutes=15),
            description="attachments not saved within an hour",
        ),
    ]
