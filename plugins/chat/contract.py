"""What the chat plugin tells other plugins: the events it publishes on the bus."""

from __future__ import annotations

import uuid
from typing import Literal

from wealist_core import DomainEvent

__all__ = ["MessageCreated"]


class MessageCreated(DomainEvent):
    """A message was posted. ``recipient_ids`` are the chat's other participants; ``offline_recipient_ids``
    those of them with no open chat socket when it was sent; ``mentioned_user_ids`` the participants it
    ``@mentions``. ``preview`` is the start of its text (or the attachment's name)."""

    event_type = "chat.message_created"
    event_key = "chat_id"

    workspace_id: uuid.UUID
    chat_id: uuid.UUID
    chat_type: Literal["DM", "GROUP", "PROJECT"]
    chat_name: str
    message_id: uuid.UUID
    seq: int
    sender_id: uuid.UUID
    sender_name: str
    preview: str
    recipient_ids: list[uuid.UUID]
    offline_recipient_ids: list[uuid.UUID]
    mentioned_user_ids: list[uuid.UUID]
