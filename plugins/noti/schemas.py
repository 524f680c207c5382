"""The notifications API's bodies and answers."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Literal

from pydantic import Field, RootModel

from wealist_core.http import ApiModel
from wealist_core.pagination import PageQuery

__all__ = [
    "CountOut",
    "CountQuery",
    "NotificationOut",
    "NotificationQuery",
    "PreferenceIn",
    "PreferenceOut",
    "PreferencesIn",
    "ReadAllIn",
    "ResourceOut",
]

NotificationType = Literal[
    "WORKSPACE_INVITED",
    "ROLE_CHANGED",
    "JOIN_REQUESTED",
    "JOIN_REQUEST_DECIDED",
    "TASK_ASSIGNED",
    "TASK_UNASSIGNED",
    "TASK_PARTICIPANT_ADDED",
    "TASK_UPDATED",
    "COMMENT_ADDED",
    "MENTIONED",
    "TASK_DUE_SOON",
    "TASK_OVERDUE",
    "CHAT_MENTIONED",
    "CHAT_DIRECT_MESSAGE",
]


class NotificationQuery(PageQuery):
    """``GET /api/notifications``: mine, newest first, in one workspace or all of mine."""

    workspace_id: uuid.UUID | None = None
    unread_only: bool = False


class CountQuery(ApiModel):
    workspace_id: uuid.UUID | None = None


class ResourceOut(ApiModel):
    type: str
    id: uuid.UUID
    name: str


class NotificationOut(ApiModel):
    notification_id: uuid.UUID
    type: str
    workspace_id: uuid.UUID
    actor_id: uuid.UUID | None
    resource: ResourceOut
    text: str
    link: str
    metadata: dict[str, Any]
    read_at: dt.datetime | None
    created_at: dt.datetime


class CountOut(ApiModel):
    count: int


class ReadAllIn(ApiModel):
    workspace_id: uuid.UUID | None = None


class PreferenceIn(ApiModel):
    workspace_id: uuid.UUID | None = None
    type: NotificationType
    in_app: bool = True
    email: bool = True


class PreferenceOut(PreferenceIn):
    pass


class PreferencesIn(RootModel[list[PreferenceIn]]):
    """``PUT /api/notifications/preferences``: the rows to set."""

    root: list[PreferenceIn] = Field(max_length=500)
