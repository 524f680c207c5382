"""Tasks: creation with typed custom fields, updates with their changes, ranks and moves, lists and filters.

A board's list is one query for the page of tasks plus one per side table (participants, labels, field
values, attachments) loaded with ``IN`` on the page's ids: a constant number, whatever the board's size.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, exists, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.board import activity
from wealist_plugins.board.access import Seen
from wealist_plugins.board.contract import (
    FieldChange,
    TaskAssigned,
    TaskParticipantAdded,
    TaskUnassigned,
    TaskUpdated,
)
from wealist_plugins.board.models import (
    Column,
    Field,
    FieldOption,
    FieldValue,
    Project,
    Task,
    TaskLabel,
    TaskParticipant,
    uploads,
)
from wealist_plugins.board.projects import attachment_out
from wealist_plugins.board.schemas import (
    BulkMoveIn,
    MineQuery,
    MoveIn,
    ParticipantResult,
    TaskIn,
    TaskOut,
    TaskPatch,
    TaskQuery,
)
from wealist_plugins.board.services import Deps, invalid

from wealist_core import Conflict, NotFound, UnitOfWork
from wealist_core.pagination import Page, keyset
from wealist_core.ranks import rank_between, ranks_between

__all__ = ["TaskService"]

MAX_PARTICIPANTS = 50
ORDERS = {
    "rank": (Task.column_id, Task.rank, Task.id),
    "created": (Task.created_at, Task.id),
    "-created": (Task.created_at.desc(), Task.id),
    "updated": (Task.updated_at, Task.id),
    "-updated": (Task.updated_at.desc(), Task.id),
    "title": (Task.title, Task.id),
}
_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.IGNORECASE)


class TaskService:
    def __init__(self, deps: Deps) -> None:
        self.deps = deps

    # ------------------------------------------------------------------------------------------- create
    async def create(self, uow: UnitOfWork, seen: Seen, body: TaskIn) -> TaskOut:
        seen.require_writer()
        assert seen.board is not None
        board_id, project = seen.board.id, seen.project
        title = _title(body.title, "body.title")
        _check_dates(body.start_date, body.due_date)
        columns = (
            await uow.session.scalars(
                select(Column).where(Column.board_id == board_id).order_by(Column.position)
            )
        ).all()
        if body.column_id is None:
            column = columns[0]
        else:
            column = next((c for c in columns if c.id == body.column_id), None)
            if column is None:
                raise invalid("body.columnId", "is not a column of this board", code="COLUMN_NOT_FOUND")
        await self._check_wip(uow.session, column, adding=1)
        await self._check_people(project.workspace_id, body.assignee_id, body.participant_ids)
        labels = _labels(body.labels)
        fields = await _FieldSet.load(uow.session, project.id)
        values = await fields.validate(body.fields, self, project.workspace_id, creating=True)
        last = await uow.session.scalar(select(func.max(Task.rank)).where(Task.column_id == column.id))
        now = self.deps.clock()
        task = Task(
            workspace_id=project.workspace_id,
            project_id=project.id,
            board_id=board_id,
            column_id=column.id,
            rank=rank_between(last, None),
            title=title,
            content=body.content,
            author_id=seen.me,
            assignee_id=body.assignee_id,
            start_date=body.start_date,
            due_date=body.due_date,
            created_at=now,
            updated_at=now,
        )
        uow.session.add(task)
        await uow.session.flush()
        participants = list(dict.fromkeys(body.participant_ids))
        uow.session.add_all([TaskParticipant(task_id=task.id, user_id=u, added_at=now) for u in participants])
        uow.session.add_all([TaskLabel(task_id=task.id, label=lb) for lb in labels])
        for field, (value, text) in values.items():
            if value is not None:
                uow.session.add(FieldValue(task_id=task.id, field_id=field.id, value=value, text=text))
        for upload_id in dict.fromkeys(body.attachment_ids):
            await self.deps.uploads.attach(
                uow,
                upload_id,
                by=seen.me,
                owner_type="task",
                owner_id=task.id,
                workspace_id=project.workspace_id,
            )
        activity.log(
            uow,
            project_id=project.id,
            task_id=task.id,
            actor_id=seen.me,
            action="task.created",
            after=title,
            at=now,
        )
        await uow.session.flush()
        watchers = _watchers(task.assignee_id, participants, seen.me)
        if task.assignee_id is not None:
            uow.emit(
                TaskAssigned(
                    **_event_base(project, task, watchers), actor_id=seen.me, assignee_id=task.assignee_id
                )
            )
        for user in participants:
            uow.emit(
                TaskParticipantAdded(**_event_base(project, task, watchers), actor_id=seen.me, user_id=user)
            )
        out = (await self.render(uow.session, [task]))[0]
        self._frame(uow, seen, "TASK_CREATED", {"task": out})
        return out

    # ------------------------------------------------------------------------------------------- update
    async def update(self, uow: UnitOfWork, seen: Seen, body: TaskPatch) -> TaskOut:
        seen.require_writer()
        task = await self._task(uow, seen)
        project = seen.project
        given = body.model_dump(exclude_unset=True)
        changes: list[FieldChange] = []
        now = self.deps.clock()
        for name, wire in (("title", "title"), ("content", "content")):
            if given.get(name) is not None:
                value = _title(given[name], "body.title") if name == "title" else given[name]
                if value != getattr(task, name):
                    changes.append(FieldChange(field=wire, before=getattr(task, name), after=value))
                    setattr(task, name, value)
        start = given.get("start_date", task.start_date)
        due = given.get("due_date", task.due_date)
        _check_dates(start, due)
        for name, wire in (("start_date", "startDate"), ("due_date", "dueDate")):
            if name in given and given[name] != getattr(task, name):
                changes.append(
                    FieldChange(field=wire, before=_plain(getattr(task, name)), after=_plain(given[name]))
                )
                setattr(task, name, given[name])
        before_assignee = task.assignee_id
        if "assignee_id" in given and given["assignee_id"] != task.assignee_id:
            await self._check_people(project.workspace_id, given["assignee_id"], [])
            changes.append(
                FieldChange(
                    field="assigneeId", before=_plain(task.assignee_id), after=_plain(given["assignee_id"])
                )
            )
            task.assignee_id = given["assignee_id"]
        if body.labels is not None:
            labels = _labels(body.labels)
            old = sorted(
                (await uow.session.scalars(select(TaskLabel.label).where(TaskLabel.task_id == task.id))).all()
            )
            if sorted(labels) != old:
                await uow.session.execute(delete(TaskLabel).where(TaskLabel.task_id == task.id))
                uow.session.add_all([TaskLabel(task_id=task.id, label=lb) for lb in labels])
                changes.append(FieldChange(field="labels", before=old, after=labels))
        if body.fields is not None:
            fields = await _FieldSet.load(uow.session, project.id)
            values = await fields.validate(body.fields, self, project.workspace_id, creating=False)
            current = {
                v.field_id: v
                for v in await uow.session.scalars(select(FieldValue).where(FieldValue.task_id == task.id))
            }
            for field, (value, text) in values.items():
                old_value = current.get(field.id)
                before = old_value.value if old_value is not None else None
                if before == value:
                    continue
                if old_value is not None:
                    await uow.session.delete(old_value)
                    await uow.session.flush()
                if value is not None:
                    uow.session.add(FieldValue(task_id=task.id, field_id=field.id, value=value, text=text))
                changes.append(FieldChange(field=f"field.{field.key}", before=before, after=value))
        if body.attachment_ids is not None:
            for upload_id in dict.fromkeys(body.attachment_ids):
                await self.deps.uploads.attach(
                    uow,
                    upload_id,
                    by=seen.me,
                    owner_type="task",
                    owner_id=task.id,
                    workspace_id=project.workspace_id,
                )
        if changes:
            task.updated_at = now
            for change in changes:
                activity.log(
                    uow,
                    project_id=project.id,
                    task_id=task.id,
                    actor_id=seen.me,
                    action="task.updated",
                    field=change.field,
                    before=change.before,
                    after=change.after,
                    at=now,
                )
        await uow.session.flush()
        participants = await self._participants(uow.session, task.id)
        watchers = _watchers(task.assignee_id, participants, seen.me)
        if before_assignee != task.assignee_id:
            if before_assignee is not None:
                uow.emit(
                    TaskUnassigned(
                        **_event_base(project, task, _watchers(before_assignee, participants, seen.me)),
                        actor_id=seen.me,
                        assignee_id=before_assignee,
                    )
                )
            if task.assignee_id is not None:
                uow.emit(
                    TaskAssigned(
                        **_event_base(project, task, watchers), actor_id=seen.me, assignee_id=task.assignee_id
                    )
                )
        if changes:
            uow.emit(TaskUpdated(**_event_base(project, task, watchers), actor_id=seen.me, changes=changes))
        out = (await self.render(uow.session, [task]))[0]
        if changes:
            self._frame(uow, seen, "TASK_UPDATED", {"task": out, "changes": changes})
        return out

    async def delete(self, uow: UnitOfWork, seen: Seen) -> None:
        seen.require_writer()
        task = await self._task(uow, seen)
        await self.deps.uploads.release_owner(uow, "task", task.id)
        await uow.session.delete(task)
        activity.log(
            uow,
            project_id=seen.project.id,
            task_id=task.id,
            actor_id=seen.me,
            action="task.deleted",
            before=task.title,
            at=self.deps.clock(),
        )
        self._frame(
            uow,
            seen,
            "TASK_DELETED",
            {"taskId": task.id, "columnId": task.column_id, "boardId": task.board_id},
        )

    # -------------------------------------------------------------------------------------------- moves
    async def move(self, uow: UnitOfWork, seen: Seen, body: MoveIn) -> TaskOut:
        """One row written: the moved task's column and rank, between its new neighbours."""
        seen.require_writer()
        task = await self._task(uow, seen)
        column = await self._column_of(uow.session, task.board_id, body.column_id)
        if column.id != task.column_id:
            await self._check_wip(uow.session, column, adding=1)
        [rank] = await self._ranks_after(uow.session, column.id, body.after_task_id, 1, moving={task.id})
        from_column = task.column_id
        now = self.deps.clock()
        task.column_id, task.rank, task.updated_at = column.id, rank, now
        await uow.session.flush()
        out = (await self.render(uow.session, [task]))[0]
        if from_column != column.id:
            change = FieldChange(field="columnId", before=str(from_column), after=str(column.id))
            activity.log(
                uow,
                project_id=seen.project.id,
                task_id=task.id,
                actor_id=seen.me,
                action="task.moved",
                field="columnId",
                before=str(from_column),
                after=str(column.id),
                at=now,
            )
            watchers = _watchers(task.assignee_id, out.participant_ids, seen.me)
            uow.emit(
                TaskUpdated(**_event_base(seen.project, task, watchers), actor_id=seen.me, changes=[change])
            )
        self._frame(
            uow, seen, "TASK_MOVED", {"task": out, "fromColumnId": from_column, "toColumnId": column.id}
        )
        return out

    async def bulk_move(self, uow: UnitOfWork, seen: Seen, body: BulkMoveIn) -> list[TaskOut]:
        seen.require_writer()
        assert seen.board is not None
        ids = list(dict.fromkeys(body.task_ids))
        tasks = {
            t.id: t
            for t in await uow.session.scalars(
                select(Task).where(Task.id.in_(ids), Task.board_id == seen.board.id)
            )
        }
        missing = [str(i) for i in ids if i not in tasks]
        if missing:
            raise invalid(
                "body.taskIds", f"not tasks of this board: {', '.join(missing)}", code="TASK_NOT_FOUND"
            )
        column = await self._column_of(uow.session, seen.board.id, body.column_id)
        await self._check_wip(
            uow.session, column, adding=sum(1 for t in tasks.values() if t.column_id != column.id)
        )
        ranks = await self._ranks_after(uow.session, column.id, body.after_task_id, len(ids), moving=set(ids))
        now = self.deps.clock()
        moved: list[tuple[Task, uuid.UUID]] = []
        for task_id, rank in zip(ids, ranks, strict=True):
            task = tasks[task_id]
            moved.append((task, task.column_id))
            task.column_id, task.rank, task.updated_at = column.id, rank, now
        await uow.session.flush()
        outs = await self.render(uow.session, [t for t, _ in moved])
        for (task, from_column), out in zip(moved, outs, strict=True):
            if from_column != column.id:
                activity.log(
                    uow,
                    project_id=seen.project.id,
                    task_id=task.id,
                    actor_id=seen.me,
                    action="task.moved",
                    field="columnId",
                    before=str(from_column),
                    after=str(column.id),
                    at=now,
                )
                change = FieldChange(field="columnId", before=str(from_column), after=str(column.id))
                uow.emit(
                    TaskUpdated(
                        **_event_base(
                            seen.project, task, _watchers(task.assignee_id, out.participant_ids, seen.me)
                        ),
                        actor_id=seen.me,
                        changes=[change],
                    )
                )
            self._frame(
                uow, seen, "TASK_MOVED", {"task": out, "fromColumnId": from_column, "toColumnId": column.id}
            )
        return outs

    async def _ranks_after(
        self,
        session: AsyncSession,
        column_id: uuid.UUID,
        after_id: uuid.UUID | None,
        count: int,
        moving: set[uuid.UUID],
    ) -> list[str]:
        others = Task.column_id == column_id, Task.id.not_in(moving)
        if after_id is None:
            low = None
            high = await session.scalar(select(func.min(Task.rank)).where(*others))
        else:
            if after_id in moving:
                raise invalid("body.afterTaskId", "cannot be one of the tasks moved")
            low = await session.scalar(
                select(Task.rank).where(Task.id == after_id, Task.column_id == column_id)
            )
            if low is None:
                raise invalid("body.afterTaskId", "is not a task of that column", code="TASK_NOT_FOUND")
            high = await session.scalar(select(func.min(Task.rank)).where(*others, Task.rank > low))
        return ranks_between(low, high, count)

    async def _column_of(self, session: AsyncSession, board_id: uuid.UUID, column_id: uuid.UUID) -> Column:
        column = await session.get(Column, column_id)
        if column is None or column.board_id != board_id:
            raise invalid("body.columnId", "is not a column of this board", code="COLUMN_NOT_FOUND")
        return column

    async def _check_wip(self, session: AsyncSession, column: Column, adding: int) -> None:
        if column.wip_limit is None or adding <= 0:
            return
        count = await session.scalar(select(func.count()).where(Task.column_id == column.id)) or 0
        if count + adding > column.wip_limit:
            raise Conflict(
                f"The column {column.name!r} holds at most {column.wip_limit} tasks.",
                code="WIP_LIMIT_REACHED",
            )

    # ------------------------------------------------------------------------------------- participants
    async def add_participants(
        self, uow: UnitOfWork, seen: Seen, user_ids: list[uuid.UUID]
    ) -> list[ParticipantResult]:
        seen.require_writer()
        task = await self._task(uow, seen)
        current = await self._participants(uow.session, task.id)
        members = {m.user_id for m in await self.deps.directory.members(seen.project.workspace_id)}
        results, added = [], []
        now = self.deps.clock()
        for user in dict.fromkeys(user_ids):
            if user in current:
                results.append(ParticipantResult(user_id=user, status="ALREADY"))
            elif user not in members:
                results.append(ParticipantResult(user_id=user, status="NOT_A_MEMBER"))
            elif len(current) >= MAX_PARTICIPANTS:
                results.append(ParticipantResult(user_id=user, status="LIMIT_REACHED"))
            else:
                uow.session.add(TaskParticipant(task_id=task.id, user_id=user, added_at=now))
                current.append(user)
                added.append(user)
                results.append(ParticipantResult(user_id=user, status="ADDED"))
        if added:
            await uow.session.flush()
            watchers = _watchers(task.assignee_id, current, seen.me)
            for user in added:
                activity.log(
                    uow,
                    project_id=seen.project.id,
                    task_id=task.id,
                    actor_id=seen.me,
                    action="participant.added",
                    field="participantIds",
                    after=str(user),
                    at=now,
                )
                uow.emit(
                    TaskParticipantAdded(
                        **_event_base(seen.project, task, watchers), actor_id=seen.me, user_id=user
                    )
                )
            out = (await self.render(uow.session, [task]))[0]
            self._frame(
                uow,
                seen,
                "TASK_UPDATED",
                {
                    "task": out,
                    "changes": [FieldChange(field="participantIds", after=[str(u) for u in added])],
                },
            )
        return results

    async def remove_participant(self, uow: UnitOfWork, seen: Seen, user_id: uuid.UUID) -> None:
        if user_id != seen.me:
            seen.require_writer()
        task = await self._task(uow, seen)
        result = await uow.session.execute(
            delete(TaskParticipant).where(
                TaskParticipant.task_id == task.id, TaskParticipant.user_id == user_id
            )
        )
        if not result.rowcount:  # type: ignore[attr-defined]
            raise NotFound("Not a participant of this task.", code="PARTICIPANT_NOT_FOUND")
        activity.log(
            uow,
            project_id=seen.project.id,
            task_id=task.id,
            actor_id=seen.me,
            action="participant.removed",
            field="participantIds",
            before=str(user_id),
            at=self.deps.clock(),
        )

    # -------------------------------------------------------------------------------------------- reads
    async def read(self, uow: UnitOfWork, seen: Seen) -> TaskOut:
        assert seen.task is not None
        return (await self.render(uow.session, [seen.task]))[0]

    async def page(
        self, uow: UnitOfWork, seen: Seen, query: TaskQuery, params: Mapping[str, str]
    ) -> Page[TaskOut]:
        assert seen.board is not None
        stmt = select(Task).where(Task.board_id == seen.board.id)
        if query.column_id is not None:
            stmt = stmt.where(Task.column_id == query.column_id)
        if query.assignee_id is not None:
            stmt = stmt.where(Task.assignee_id == query.assignee_id)
        if query.participant_id is not None:
            stmt = stmt.where(
                exists().where(
                    TaskParticipant.task_id == Task.id, TaskParticipant.user_id == query.participant_id
                )
            )
        for lb in query.label:
            stmt = stmt.where(exists().where(TaskLabel.task_id == Task.id, TaskLabel.label == lb.strip()))
        if query.q:
            like = f"%{query.q.strip().lower()}%"
            stmt = stmt.where(or_(func.lower(Task.title).like(like), func.lower(Task.content).like(like)))
        if query.due is not None:
            stmt = self._due_filter(stmt, query.due)
        field_filters = {k.removeprefix("field."): v for k, v in params.items() if k.startswith("field.")}
        if field_filters:
            fields = await _FieldSet.load(uow.session, seen.project.id)
            for key, wanted in field_filters.items():
                field = fields.by_key.get(key)
                if field is None:
                    raise invalid(
                        f"query.field.{key}", "no such field in this project", code="FIELD_NOT_FOUND"
                    )
                text = (
                    FieldValue.text.like(f"%|{wanted}|%")
                    if field.type == "multi_select"
                    else FieldValue.text == wanted
                )
                stmt = stmt.where(
                    exists().where(FieldValue.task_id == Task.id, FieldValue.field_id == field.id, text)
                )
        ks = keyset(stmt, query, order=ORDERS[query.sort])
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(items=await self.render(uow.session, part.rows), next_cursor=part.next_cursor)

    async def mine(self, uow: UnitOfWork, me: uuid.UUID, query: MineQuery) -> Page[TaskOut]:
        stmt = select(Task).where(
            Task.workspace_id == query.workspace_id,
            or_(
                Task.assignee_id == me,
                exists().where(TaskParticipant.task_id == Task.id, TaskParticipant.user_id == me),
            ),
            Task.project_id.in_(
                select(Project.id).where(
                    Project.workspace_id == query.workspace_id, Project.archived_at.is_(None)
                )
            ),
        )
        ks = keyset(stmt, query, order=ORDERS["-updated"])
        part = ks.slice((await uow.session.scalars(ks.statement)).all())
        return Page(items=await self.render(uow.session, part.rows), next_cursor=part.next_cursor)

    def _due_filter(self, stmt: Any, due: str) -> Any:
        now = self.deps.clock()
        if due == "none":
            return stmt.where(Task.due_date.is_(None))
        if due == "overdue":
            done = select(Column.id).where(Column.is_done.is_(True))
            return stmt.where(Task.due_date < now, Task.column_id.not_in(done))
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        end = start + dt.timedelta(days=1 if due == "today" else 7)
        return stmt.where(Task.due_date >= start, Task.due_date < end)

    async def render(self, session: AsyncSession, tasks: Sequence[Task]) -> list[TaskOut]:
        """The tasks with their participants, labels, field values and attachments: four queries."""
        if not tasks:
            return []
        ids = [t.id for t in tasks]
        people: dict[uuid.UUID, list[uuid.UUID]] = {}
        for task_id, user_id in await session.execute(
            select(TaskParticipant.task_id, TaskParticipant.user_id)
            .where(TaskParticipant.task_id.in_(ids))
            .order_by(TaskParticipant.added_at)
        ):
            people.setdefault(task_id, []).append(user_id)
        labels: dict[uuid.UUID, list[str]] = {}
        for task_id, lb in await session.execute(
            select(TaskLabel.task_id, TaskLabel.label)
            .where(TaskLabel.task_id.in_(ids))
            .order_by(TaskLabel.label)
        ):
            labels.setdefault(task_id, []).append(lb)
        values: dict[uuid.UUID, dict[str, Any]] = {}
        for task_id, key, value in await session.execute(
            select(FieldValue.task_id, Field.key, FieldValue.value)
            .join(Field, Field.id == FieldValue.field_id)
            .where(FieldValue.task_id.in_(ids))
        ):
            values.setdefault(task_id, {})[key] = value
        files: dict[str, list[Any]] = {}
        for row in await session.execute(
            select(uploads)
            .where(uploads.c.owner_type == "task", uploads.c.owner_id.in_([str(i) for i in ids]))
            .order_by(uploads.c.created_at)
        ):
            files.setdefault(row.owner_id, []).append(attachment_out(row))
        return [
            TaskOut(
                task_id=t.id,
                workspace_id=t.workspace_id,
                project_id=t.project_id,
                board_id=t.board_id,
                column_id=t.column_id,
                rank=t.rank,
                title=t.title,
                content=t.content,
                author_id=t.author_id,
                assignee_id=t.assignee_id,
                participant_ids=people.get(t.id, []),
                start_date=t.start_date,
                due_date=t.due_date,
                labels=labels.get(t.id, []),
                fields=values.get(t.id, {}),
                attachments=files.get(str(t.id), []),
                created_at=t.created_at,
                updated_at=t.updated_at,
            )
            for t in tasks
        ]

    # ------------------------------------------------------------------------------------------ helpers
    async def _task(self, uow: UnitOfWork, seen: Seen) -> Task:
        assert seen.task is not None
        task = await uow.session.get(Task, seen.task.id, populate_existing=True, with_for_update=True)
        if task is None:
            raise NotFound("No such task.", code="TASK_NOT_FOUND")
        return task

    async def _participants(self, session: AsyncSession, task_id: uuid.UUID) -> list[uuid.UUID]:
        return list(
            (
                await session.scalars(
                    select(TaskParticipant.user_id)
                    .where(TaskParticipant.task_id == task_id)
                    .order_by(TaskParticipant.added_at)
                )
            ).all()
        )

    async def _check_people(
        self, workspace_id: uuid.UUID, assignee: uuid.UUID | None, participants: list[uuid.UUID]
    ) -> None:
        if assignee is None and not participants:
            return
        members = {m.user_id for m in await self.deps.directory.members(workspace_id)}
        if assignee is not None and assignee not in members:
            raise invalid(
                "body.assigneeId", "is not a member of the project's workspace", code="NOT_A_WORKSPACE_MEMBER"
            )
        strangers = [str(u) for u in participants if u not in members]
        if strangers:
            raise invalid(
                "body.participantIds",
                f"not members of the workspace: {', '.join(strangers)}",
                code="NOT_A_WORKSPACE_MEMBER",
            )

    async def workspace_members(self, workspace_id: uuid.UUID) -> set[uuid.UUID]:
        return {m.user_id for m in await self.deps.directory.members(workspace_id)}

    def _frame(self, uow: UnitOfWork, seen: Seen, type: str, payload: dict[str, Any]) -> None:
        body = {"projectId": seen.project.id, "actorId": seen.me, **payload}
        self.deps.publish_after_commit(uow, seen.project.id, type, _jsonable(body))


class _FieldSet:
    """A project's custom fields with their options, read in two queries, and the typed check of values."""

    def __init__(self, fields: Sequence[Field], options: Sequence[FieldOption]) -> None:
        self.by_key = {f.key: f for f in fields}
        self.options: dict[uuid.UUID, set[str]] = {}
        for o in options:
            self.options.setdefault(o.field_id, set()).add(o.value)

    @classmethod
    async def load(cls, session: AsyncSession, project_id: uuid.UUID) -> _FieldSet:
        fields = (await session.scalars(select(Field).where(Field.project_id == project_id))).all()
        options = (
            await session.scalars(select(FieldOption).where(FieldOption.field_id.in_([f.id for f in fields])))
        ).all()
        return cls(fields, options)

    async def validate(
        self, given: Mapping[str, Any], service: TaskService, workspace_id: uuid.UUID, *, creating: bool
    ) -> dict[Field, tuple[Any, str]]:
        """Each given value checked against its field's type: ``(json value, searchable text)``."""
        out: dict[Field, tuple[Any, str]] = {}
        members: set[uuid.UUID] | None = None
        for key, value in given.items():
            where = f"body.fields.{key}"
            field = self.by_key.get(key)
            if field is None:
                raise invalid(where, "no such field in this project", code="FIELD_NOT_FOUND")
            if value is None:
                if field.required:
                    raise invalid(where, "is required")
                out[field] = (None, "")
                continue
            kind = field.type
            if kind == "text":
                if not isinstance(value, str) or len(value) > 2000:
                    raise invalid(where, "must be a text of at most 2000 characters")
                out[field] = (value, value[:500])
            elif kind == "number":
                if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
                    raise invalid(where, "must be a number")
                out[field] = (value, repr(value))
            elif kind == "checkbox":
                if not isinstance(value, bool):
                    raise invalid(where, "must be true or false")
                out[field] = (value, "true" if value else "false")
            elif kind == "url":
                if not isinstance(value, str) or len(value) > 2000 or not _URL.match(value):
                    raise invalid(where, "must be an http or https URL")
                out[field] = (value, value[:500])
            elif kind == "date":
                try:
                    parsed = (
                        dt.date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
                    )
                    if parsed is None:
                        parsed_dt = dt.datetime.fromisoformat(value) if isinstance(value, str) else None
                        if parsed_dt is None:
                            raise ValueError
                        value = parsed_dt.isoformat()
                    else:
                        value = parsed.isoformat()
                except ValueError:
                    raise invalid(where, "must be an ISO 8601 date (2030-01-31)") from None
                out[field] = (value, value)
            elif kind == "user":
                try:
                    user = uuid.UUID(str(value))
                except ValueError:
                    raise invalid(where, "must be a user id") from None
                members = members if members is not None else await service.workspace_members(workspace_id)
                if user not in members:
                    raise invalid(where, "is not a member of the workspace", code="NOT_A_WORKSPACE_MEMBER")
                out[field] = (str(user), str(user))
            elif kind == "single_select":
                if not isinstance(value, str) or value not in self.options.get(field.id, set()):
                    raise invalid(
                        where,
                        f"must be one of: {', '.join(sorted(self.options.get(field.id, set())))}",
                        code="NOT_AN_OPTION",
                    )
                out[field] = (value, value)
            else:  # multi_select
                allowed = self.options.get(field.id, set())
                if not isinstance(value, list) or not all(isinstance(v, str) and v in allowed for v in value):
                    raise invalid(
                        where, f"must be a list of: {', '.join(sorted(allowed))}", code="NOT_AN_OPTION"
                    )
                value = list(dict.fromkeys(value))
                if not value and field.required:
                    raise invalid(where, "is required")
                out[field] = (value or None, "|" + "|".join(value) + "|")
        if creating:
            for field in self.by_key.values():
                if field.required and field not in out:
                    raise invalid(f"body.fields.{field.key}", "is required")
        return out


def _title(value: str, where: str) -> str:
    title = value.strip()
    if not title:
        raise invalid(where, "may not be blank")
    return title


def _labels(labels: list[str]) -> list[str]:
    out = list(dict.fromkeys(lb.strip() for lb in labels))
    if any(not lb or len(lb) > 50 or "|" in lb for lb in out):
        raise invalid("body.labels", "each label is 1 to 50 characters, without '|'")
    return out


def _check_dates(start: dt.datetime | None, due: dt.datetime | None) -> None:
    if start is not None and due is not None and due < start:
        raise invalid("body.dueDate", "must not be before startDate")


def _watchers(
    assignee: uuid.UUID | None, participants: Sequence[uuid.UUID], actor: uuid.UUID | None
) -> list[uuid.UUID]:
    people = ([assignee] if assignee else []) + list(participants)
    return [u for u in dict.fromkeys(people) if u != actor]


def _event_base(project: Project, task: Task, watchers: list[uuid.UUID]) -> dict[str, Any]:
    return {
        "workspace_id": project.workspace_id,
        "project_id": project.id,
        "project_name": project.name,
        "board_id": task.board_id,
        "task_id": task.id,
        "task_title": task.title,
        "watcher_ids": watchers,
    }


def _plain(value: object) -> object:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    return value


def _jsonable(value: Any) -> Any:
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", by_alias=True)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return _plain(value)
