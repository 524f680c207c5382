"""Request and response models of the video API (camelCase on the wire)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Literal

from wealist_core.http import ApiModel, Field, Text
from wealist_core.pagination import PageQuery

__all__ = [
    "CallOut",
    "CallParticipantOut",
    "HistoryQuery",
    "IceServerOut",
    "JoinOut",
    "ParticipantOut",
    "RecordingOut",
    "RoomIn",
    "RoomOut",
    "RoomQuery",
    "TranscriptIn",
]


#: A name shows something: no control characters, not only spaces.
NAME_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"


class RoomIn(ApiModel):
    workspace_id: uuid.UUID
    name: str = Field(
        min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
    )
    capacity: int = Field(default=10, ge=2, le=1000)
    chat_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None


class RoomQuery(PageQuery):
    workspace_id: uuid.UUID


class ParticipantOut(ApiModel):
    user_id: uuid.UUID
    name: str
    joined_at: dt.datetime | None = Field(description="when LiveKit saw them connect; null until then")
    connected: bool


class RoomOut(ApiModel):
    room_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    capacity: int
    status: Literal["ACTIVE", "ENDED"]
    created_by: uuid.UUID
    chat_id: uuid.UUID | None
    project_id: uuid.UUID | None
    participants: list[ParticipantOut]
    created_at: dt.datetime
    ended_at: dt.datetime | None
    recording: bool = Field(description="a recording is under way")


class IceServerOut(ApiModel):
    urls: list[str]
    username: str | None = None
    credential: str | None = None


class JoinOut(ApiModel):
    room_id: uuid.UUID
    identity: str
    token: str
    url: str
    ice_servers: list[IceServerOut]
    expires_at: dt.datetime


class RecordingOut(ApiModel):
    recording_id: uuid.UUID
    room_id: uuid.UUID
    status: str
    started_by: uuid.UUID
    started_at: dt.datetime
    ended_at: dt.datetime | None
    key: str | None
    size: int
    duration_seconds: float
    download_url: str | None = None


class CallParticipantOut(ApiModel):
    user_id: uuid.UUID
    name: str
    joined_at: dt.datetime | None
    left_at: dt.datetime | None


class CallOut(ApiModel):
    call_id: uuid.UUID
    room_id: uuid.UUID
    workspace_id: uuid.UUID
    name: str
    created_by: uuid.UUID
    started_at: dt.datetime
    ended_at: dt.datetime
    duration_seconds: int
    participants: list[CallParticipantOut]
    recordings: list[RecordingOut]
    transcript: str | None = None


class HistoryQuery(PageQuery):
    workspace_id: uuid.UUID
    user_id: uuid.UUID | None = Field(default=None, description="only calls this member took part in")


class TranscriptIn(ApiModel):
    text: Text = Field(min_length=1, max_length=1_000_000)
