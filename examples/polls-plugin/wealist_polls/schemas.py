"""Request and response models of the polls API (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal

from wealist_core.http import ApiModel, Field
from wealist_core.pagination import PageQuery

__all__ = ["OptionCount", "PollIn", "PollOut", "PollQuery", "VoteIn"]

OptionText = Annotated[str, Field(min_length=1, max_length=100)]


class PollIn(ApiModel):
    """``POST /api/polls``: a question and 2 to 10 distinct options; optionally when it closes by itself."""

    workspace_id: uuid.UUID
    question: str = Field(min_length=1, max_length=300)
    options: list[OptionText] = Field(min_length=2, max_length=10)
    closes_at: dt.datetime | None = Field(default=None, description="In the future, with a time zone.")


class PollQuery(PageQuery):
    """``GET /api/polls``: the polls of one workspace, newest first."""

    workspace_id: uuid.UUID


class VoteIn(ApiModel):
    """``POST /api/polls/{pollId}/votes``: one of the poll's options."""

    option: OptionText


class OptionCount(ApiModel):
    option: str
    votes: int


class PollOut(ApiModel):
    poll_id: uuid.UUID
    workspace_id: uuid.UUID
    author_id: uuid.UUID
    question: str
    options: list[OptionCount]
    total_votes: int
    my_vote: str | None
    status: Literal["OPEN", "CLOSED"]
    created_at: dt.datetime
    closes_at: dt.datetime | None
    closed_at: dt.datetime | None
