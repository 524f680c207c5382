"""What the board plugin tells other plugins: the events it publishes on the bus.

Every event names its workspace, project and task, the actor, and ``watcher_ids``: the assignee and the
participants of the task at the time of the event (the people a notification is for), never the actor
twice. Texts (titles, previews) are copied into the event so a consumer needs no call back.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from wealist_core import DomainEvent
from wealist_core.http import ApiModel

__all__ = [
    "CommentAdded",
    "FieldChange",
    "TaskAssigned",
    "TaskDueSoon",
    "TaskOverdue",
    "TaskParticipantAdded",
    "TaskUnassigned",
    "TaskUpdated",
]


class _TaskEvent(DomainEvent):
    event_key = "task_id"

    workspace_id: uuid.UUID
    project_id: uuid.UUID
    project_name: str
    board_id: uuid.UUID
    task_id: uuid.UUID
    task_title: str
    #: The assignee and participants of the task when the event happened.
    watcher_ids: list[uuid.UUID]


class TaskAssigned(_TaskEvent):
    """A task was given to ``assignee_id`` (at creation or later)."""

    event_type = "board.task_assigned"

    actor_id: uuid.UUID
    assignee_id: uuid.UUID


class TaskUnassigned(_TaskEvent):
    """``assignee_id`` no longer holds the task (reassigned or cleared)."""

    event_type = "board.task_unassigned"

    actor_id: uuid.UUID
    assignee_id: uuid.UUID


class TaskParticipantAdded(_TaskEvent):
    """``user_id`` now watches the task."""

    event_type = "board.task_participant_added"

    actor_id: uuid.UUID
    user_id: uuid.UUID


class FieldChange(ApiModel):
    """One changed field of a task: its name (``title``, ``dueDate``, ``columnId``, ``field.<key>``, ...)."""

    field: str
    before: Any = None
    after: Any = None


class TaskUpdated(_TaskEvent):
    """The task changed; ``changes`` lists each field with its value before and after."""

    event_type = "board.task_updated"

    actor_id: uuid.UUID
    changes: list[FieldChange]


class CommentAdded(_TaskEvent):
    """A comment was written; ``mentioned_user_ids`` are the members it ``@mentions``."""

    event_type = "board.comment_added"

    actor_id: uuid.UUID
    comment_id: uuid.UUID
    preview: str
    mentioned_user_ids: list[uuid.UUID]


class TaskDueSoon(_TaskEvent):
    """Sent once per task and due date, when the due date is near (the board's reminder job)."""

    event_type = "board.task_due_soon"

    due_date: dt.datetime


class TaskOverdue(_TaskEvent):
    """Sent once per task and due date, when the due date has passed and the task is not done."""

    event_type = "board.task_overdue"

    due_date: dt.datetime
