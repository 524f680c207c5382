"""What other plugins may use of the video plugin: its events.

``CallStarted`` lets the notification plugin tell the members of a chat or project that a call began there;
``CallEnded`` closes it. Both are published through the video plugin's outbox.
"""

from __future__ import annotations

import datetime as dt
import uuid

from wealist_core import DomainEvent

__all__ = ["CallEnded", "CallStarted"]


class CallStarted(DomainEvent):
    """A member started a call in a workspace, in a chat (``chat_id``) or a project (``project_id``) when
    the room was created from one."""

    event_type = "video.call_started"
    event_key = "workspace_id"

    workspace_id: uuid.UUID
    room_id: uuid.UUID
    name: str
    started_by: uuid.UUID
    started_by_name: str
    chat_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    capacity: int
    started_at: dt.datetime


class CallEnded(DomainEvent):
    """A call ended (ended by its creator or an admin, or LiveKit closed the empty room); ``call_id`` names
    its record in the history."""

    event_type = "video.call_ended"
    event_key = "workspace_id"

    workspace_id: uuid.UUID
    room_id: uuid.UUID
    call_id: uuid.UUID
    chat_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None
    ended_by: uuid.UUID | None = None
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_seconds: int
    participant_ids: list[uuid.UUID]
