"""What other plugins may use of the polls plugin: the events it publishes."""

from __future__ import annotations

import datetime as dt
import uuid

from wealist_core import DomainEvent

__all__ = ["PollClosed"]


class PollClosed(DomainEvent):
    """A poll stopped taking votes: closed by its author or a manager (``closed_by``), or on schedule at its
    ``closesAt`` (``closed_by`` null)."""

    event_type = "polls.poll_closed"
    event_key = "workspace_id"

    workspace_id: uuid.UUID
    poll_id: uuid.UUID
    author_id: uuid.UUID
    question: str
    closed_by: uuid.UUID | None
    closed_at: dt.datetime
    total_votes: int
