"""The chat plugin's request and response models (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from wealist_core import UploadIn
from wealist_core.http import ApiModel, Field, Text
from wealist_core.pagination import PageQuery

__all__ = [
    "AttachmentIn",
    "AttachmentOut",
    "ChatIn",
    "ChatOut",
    "ChatPatch",
    "ChatQuery",
    "DownloadOut",
    "EditOut",
    "HistoryQuery",
    "MessageIn",
    "MessageOut",
    "MessagePage",
    "MessagePatch",
    "ParticipantOut",
    "ParticipantsIn",
    "PresenceOut",
    "PresenceQuery",
    "ReactionIn",
    "ReactionOut",
    "ReadIn",
    "ReadOut",
    "SearchQuery",
]

ChatType = Literal["DM", "GROUP", "PROJECT"]
Status = Literal["ONLINE", "AWAY", "OFFLINE"]


class ChatIn(ApiModel):
    workspace_id: uuid.UUID
    type: ChatType
    name: str | None = Field(default=None, max_length=100)
    description: Text | None = Field(default=None, max_length=1000)
    participant_ids: list[uuid.UUID] = Field(default_factory=list, max_length=1000)
    project_id: uuid.UUID | None = None


class ChatPatch(ApiModel):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: Text | None = Field(default=None, max_length=1000)


class ChatQuery(PageQuery):
    workspace_id: uuid.UUID
    type: ChatType | None = None


class ParticipantOut(ApiModel):
    user_id: uuid.UUID
    role: Literal["ADMIN", "MEMBER"]
    last_read_seq: int
    joined_at: dt.datetime


class ParticipantsIn(ApiModel):
    user_ids: list[uuid.UUID] = Field(min_length=1, max_length=100)


class AttachmentInfo(ApiModel):
    attachment_id: uuid.UUID
    file_name: str | None
    content_type: str
    size: int


class ReactionOut(ApiModel):
    emoji: str
    count: int
    user_ids: list[uuid.UUID]


class MessageOut(ApiModel):
    message_id: uuid.UUID
    chat_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    content: str
    reply_to_id: uuid.UUID | None
    attachment: AttachmentInfo | None
    reactions: list[ReactionOut]
    mentions: list[uuid.UUID]
    client_id: str | None
    reply_count: int = 0
    change_seq: int | None = None  # the chat's change number of its last edit, delete or reaction
    edited_at: dt.datetime | None
    deleted_at: dt.datetime | None
    created_at: dt.datetime


class ChatOut(ApiModel):
    chat_id: uuid.UUID
    workspace_id: uuid.UUID
    type: ChatType
    name: str
    description: str
    project_id: uuid.UUID | None
    created_by: uuid.UUID
    participants: list[ParticipantOut]
    last_seq: int
    last_change: int
    unread_count: int
    last_message: MessageOut | None
    created_at: dt.datetime


class MessageIn(ApiModel):
    # The length limits live in the settings (MESSAGE_TOO_LONG); this bound only stops absurd bodies.
    content: Text = Field(default="", max_length=100_000)
    reply_to_id: uuid.UUID | None = None
    attachment_id: uuid.UUID | None = None
    client_id: str | None = Field(default=None, min_length=1, max_length=64)


class MessagePatch(ApiModel):
    content: Text = Field(max_length=100_000)


class EditOut(ApiModel):
    content: str
    replaced_at: dt.datetime


class HistoryQuery(ApiModel):
    before: int | None = Field(default=None, ge=1)
    after: int | None = Field(default=None, ge=0)
    limit: int = Field(default=50, ge=1, le=200)
    reply_to_id: uuid.UUID | None = None


class MessagePage(ApiModel):
    """Messages in sequence order; ``hasMoreBefore``/``hasMoreAfter`` say whether to scroll on (with
    ``before`` = the first ``seq``, or ``after`` = the last)."""

    items: list[MessageOut]
    has_more_before: bool
    has_more_after: bool


class ReactionIn(ApiModel):
    emoji: str = Field(min_length=1, max_length=64)


class ReadIn(ApiModel):
    seq: int = Field(ge=0)


class ReadOut(ApiModel):
    chat_id: uuid.UUID
    last_read_seq: int
    unread_count: int


class AttachmentIn(UploadIn):
    pass


class AttachmentOut(ApiModel):
    attachment_id: uuid.UUID
    key: str
    upload_url: str
    method: str
    headers: dict[str, str]
    fields: dict[str, str]
    expires_at: dt.datetime


class DownloadOut(ApiModel):
    url: str
    expires_at: dt.datetime


class SearchQuery(PageQuery):
    workspace_id: uuid.UUID
    q: str = Field(min_length=1, max_length=200)
    chat_id: uuid.UUID | None = None


class PresenceQuery(ApiModel):
    workspace_id: uuid.UUID


class PresenceOut(ApiModel):
    user_id: uuid.UUID
    status: Status
    last_seen_at: dt.datetime | None
