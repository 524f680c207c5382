"""The one object that builds every service of the board plugin from its ports."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from wealist_plugins.user.contract import Directory

from wealist_core import Database, KeyValue, UploadPolicy, Uploads, ValidationProblem, utcnow
from wealist_core.realtime import Hub

__all__ = ["ATTACHMENTS", "Deps", "invalid", "topic"]

#: Attachments of projects, tasks and comments: 50 MB, any type but executables (the policy's deny list).
ATTACHMENTS = UploadPolicy(types=None, max_size=50 * 1024 * 1024, pending_ttl=3600)


def invalid(field_name: str, message: str, code: str = "VALIDATION_ERROR") -> ValidationProblem:
    """A 422 naming the field as on the wire (``body.title``)."""
    return ValidationProblem(
        f"{field_name}: {message}",
        code=code,
        errors=[{"field": field_name, "message": message, "type": "value_error"}],
    )


def topic(project_id: uuid.UUID) -> str:
    return f"board:project:{project_id}"


@dataclass
class Deps:
    database: Database
    directory: Directory
    uploads: Uploads
    hub: Hub
    keyvalue: KeyValue
    clock: Callable[[], dt.datetime] = field(default=utcnow)

    def publish_after_commit(self, uow: Any, project_id: uuid.UUID, type: str, payload: Any) -> None:
        """Persist first, publish second: the frame leaves only once the change is committed."""

        async def send() -> None:
            await self.hub.publish(topic(project_id), type, payload)

        uow.after_commit(send)
