"""Request and response models of the board API (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import ConfigDict, model_validator

from wealist_core.http import ApiModel, Field, Text
from wealist_core.pagination import PageQuery

ProjectRole = Literal["OWNER", "ADMIN", "MEMBER"]
FieldType = Literal["text", "number", "single_select", "multi_select", "date", "user", "checkbox", "url"]
Color = Field(default=None, pattern=r"^#[0-9A-Fa-f]{6}$")


# ------------------------------------------------------------------------------------------------ projects
class ProjectIn(ApiModel):
    workspace_id: uuid.UUID
    name: str = Field(min_length=1, max_length=100)
    description: Text = Field(default="", max_length=2000)
    start_date: dt.datetime | None = None
    due_date: dt.datetime | None = None
    #: The language of the default board's stages and options.
    locale: Literal["ko", "en"] = "ko"


class ProjectPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: Text | None = Field(default=None, max_length=2000)
    start_date: dt.datetime | None = None
    due_date: dt.datetime | None = None
    archived: bool | None = None
    attachment_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)


class ProjectQuery(PageQuery):
    workspace_id: uuid.UUID
    q: str | None = Field(default=None, max_length=100)
    archived: bool = False


class AttachmentOut(ApiModel):
    attachment_id: uuid.UUID
    file_name: str | None
    content_type: str
    size: int
    uploader_id: uuid.UUID
    created_at: dt.datetime


class ProjectOut(ApiModel):
    project_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    description: str
    start_date: dt.datetime | None
    due_date: dt.datetime | None
    is_default: bool
    archived: bool
    default_board_id: uuid.UUID | None
    created_by: uuid.UUID
    my_role: ProjectRole | None
    created_at: dt.datetime
    attachments: list[AttachmentOut] = []


class MemberIn(ApiModel):
    user_id: uuid.UUID
    role: ProjectRole = "MEMBER"


class MemberPatch(ApiModel):
    role: ProjectRole


class MemberOut(ApiModel):
    user_id: uuid.UUID
    role: ProjectRole
    joined_at: dt.datetime


class JoinRequestIn(ApiModel):
    message: str = Field(default="", max_length=500)


class JoinRequestOut(ApiModel):
    request_id: uuid.UUID
    project_id: uuid.UUID
    user_id: uuid.UUID
    status: Literal["PENDING", "APPROVED", "REJECTED"]
    message: str
    created_at: dt.datetime
    decided_at: dt.datetime | None


# -------------------------------------------------------------------------------------------------- fields
class OptionIn(ApiModel):
    value: str = Field(min_length=1, max_length=50, pattern=r"^[a-z0-9_-]+$")
    label: str = Field(min_length=1, max_length=100)
    color: str | None = Color


class OptionOut(ApiModel):
    option_id: uuid.UUID
    value: str
    label: str
    color: str
    position: int


class FieldIn(ApiModel):
    key: str = Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]*$")
    name: str = Field(min_length=1, max_length=100)
    type: FieldType
    required: bool = False
    options: list[OptionIn] = Field(default=[], max_length=100)


class FieldPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    required: bool | None = None
    #: The complete new list of options (select fields); options not in it are removed with their values.
    options: list[OptionIn] | None = Field(default=None, max_length=100)


class FieldOut(ApiModel):
    field_id: uuid.UUID
    key: str
    name: str
    type: FieldType
    required: bool
    options: list[OptionOut]


# -------------------------------------------------------------------------------------------------- boards
class BoardIn(ApiModel):
    name: str = Field(min_length=1, max_length=100)


class BoardPatch(ApiModel):
    name: str = Field(min_length=1, max_length=100)


class ColumnIn(ApiModel):
    name: str = Field(min_length=1, max_length=50)
    color: str | None = Color
    wip_limit: int | None = Field(default=None, ge=1, le=1000)
    position: int | None = Field(default=None, ge=0)
    is_done: bool = False


class ColumnPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=50)
    color: str | None = Color
    wip_limit: int | None = Field(default=None, ge=0, le=1000, description="0 removes the limit.")
    position: int | None = Field(default=None, ge=0)
    is_done: bool | None = None


class ColumnDeleteQuery(ApiModel):
    move_to: uuid.UUID | None = None


class ColumnOut(ApiModel):
    column_id: uuid.UUID
    name: str
    color: str
    wip_limit: int | None
    position: int
    is_done: bool


class BoardOut(ApiModel):
    board_id: uuid.UUID
    project_id: uuid.UUID
    name: str
    columns: list[ColumnOut]


class BoardQuery(PageQuery):
    pass


# --------------------------------------------------------------------------------------------------- tasks
class TaskIn(ApiModel):
    title: str = Field(min_length=1, max_length=200)
    content: Text = Field(default="", max_length=5000)
    column_id: uuid.UUID | None = None
    assignee_id: uuid.UUID | None = None
    participant_ids: list[uuid.UUID] = Field(default=[], max_length=50)
    start_date: dt.datetime | None = None
    due_date: dt.datetime | None = None
    labels: list[str] = Field(default=[], max_length=20)
    fields: dict[str, Any] = Field(default={}, max_length=50)
    attachment_ids: list[uuid.UUID] = Field(default=[], max_length=20)


class TaskPatch(ApiModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    content: Text | None = Field(default=None, max_length=5000)
    assignee_id: uuid.UUID | None = None
    start_date: dt.datetime | None = None
    due_date: dt.datetime | None = None
    labels: list[str] | None = Field(default=None, max_length=20)
    fields: dict[str, Any] | None = Field(default=None, max_length=50)
    attachment_ids: list[uuid.UUID] | None = Field(default=None, max_length=20)


class MoveIn(ApiModel):
    column_id: uuid.UUID
    after_task_id: uuid.UUID | None = None


class BulkMoveIn(ApiModel):
    task_ids: list[uuid.UUID] = Field(min_length=1, max_length=200)
    column_id: uuid.UUID
    after_task_id: uuid.UUID | None = None


class ParticipantsIn(ApiModel):
    user_ids: list[uuid.UUID] = Field(min_length=1, max_length=50)


class ParticipantResult(ApiModel):
    user_id: uuid.UUID
    status: Literal["ADDED", "ALREADY", "NOT_A_MEMBER", "LIMIT_REACHED"]


class TaskOut(ApiModel):
    task_id: uuid.UUID
    workspace_id: uuid.UUID
    project_id: uuid.UUID
    board_id: uuid.UUID
    column_id: uuid.UUID
    rank: str
    title: str
    content: str
    author_id: uuid.UUID
    assignee_id: uuid.UUID | None
    participant_ids: list[uuid.UUID]
    start_date: dt.datetime | None
    due_date: dt.datetime | None
    labels: list[str]
    fields: dict[str, Any]
    attachments: list[AttachmentOut] = []
    created_at: dt.datetime
    updated_at: dt.datetime


TaskSort = Literal["rank", "created", "-created", "updated", "-updated", "title"]


class TaskQuery(PageQuery):
    """Filters of a board's tasks; ``field.<key>=value`` filters by a custom field (read from the URL)."""

    limit: int = Field(default=100, ge=1, le=1000, description="Tasks per page (a whole board: up to 1000).")
    assignee_id: uuid.UUID | None = None
    participant_id: uuid.UUID | None = None
    column_id: uuid.UUID | None = None
    label: list[str] = []
    q: str | None = Field(default=None, max_length=100)
    due: Literal["overdue", "today", "week", "none"] | None = None
    sort: TaskSort = "rank"

    # ``field.<key>`` parameters are the custom-field filters; any other unknown parameter is refused.
    model_config = ConfigDict(extra="allow")

    @model_validator(mode="after")
    def _only_field_filters(self) -> TaskQuery:
        for name in self.model_extra or {}:
            if not name.startswith("field.") or len(name) > 50:
                raise ValueError(f"unknown parameter {name!r}; custom fields filter as field.<key>")
        return self


class MineQuery(PageQuery):
    workspace_id: uuid.UUID


# ------------------------------------------------------------------------------------------------ comments
class CommentIn(ApiModel):
    content: Text = Field(min_length=1, max_length=5000)
    attachment_ids: list[uuid.UUID] = Field(default=[], max_length=10)


class CommentPatch(ApiModel):
    content: Text = Field(min_length=1, max_length=5000)


class CommentOut(ApiModel):
    comment_id: uuid.UUID
    task_id: uuid.UUID
    author_id: uuid.UUID
    content: str
    mentions: list[uuid.UUID]
    attachments: list[AttachmentOut] = []
    created_at: dt.datetime
    edited_at: dt.datetime | None


class AttachmentIn(ApiModel):
    workspace_id: uuid.UUID
    file_name: str = Field(min_length=1, max_length=255)
    content_type: str = Field(min_length=1, max_length=255)
    size: int


class AttachmentIssued(ApiModel):
    attachment_id: uuid.UUID
    upload_url: str
    method: str
    headers: dict[str, str]
    expires_at: dt.datetime


class DownloadOut(ApiModel):
    url: str
    expires_at: dt.datetime


class ActivityOut(ApiModel):
    activity_id: uuid.UUID
    task_id: uuid.UUID | None
    actor_id: uuid.UUID | None
    action: str
    field: str | None = None
    from_: Any = Field(default=None, alias="from")
    to: Any = None
    at: dt.datetime


class OnlineOut(ApiModel):
    project_id: uuid.UUID
    user_ids: list[uuid.UUID]
