"""Frames on the wire: JSON objects whose ``type`` is UPPER_SNAKE_CASE, the payload's fields beside it.

``encode("USER_TYPING", UserTyping(chat_id=..., user_id=...))`` is
``{"type":"USER_TYPING","chatId":"...","userId":"..."}``: a payload model is serialised once, by pydantic,
and the type spliced in front, so a frame fanned out to a thousand sockets is encoded one time.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from pydantic import BaseModel

__all__ = [
    "CLOSE_GOING_AWAY",
    "CLOSE_NORMAL",
    "CLOSE_TOO_SLOW",
    "CLOSE_UNAVAILABLE",
    "FRAME_INVALID",
    "FRAME_MALFORMED",
    "FRAME_TOO_LARGE",
    "FRAME_UNKNOWN",
    "INTERNAL_ERROR",
    "TOO_MANY_TOPICS",
    "TOPIC_NOT_FOUND",
    "Cursor",
    "Frame",
    "Payload",
    "check_cursor",
    "check_type",
    "encode",
]

# ------------------------------------------------------------------------------------------- close codes

CLOSE_NORMAL: Final = 1000
#: The server is shutting down: reconnect (to another replica, or in a moment) and resume.
CLOSE_GOING_AWAY: Final = 1001
#: The fan-out behind the socket failed (the pub/sub server went away): reconnect and resume.
CLOSE_UNAVAILABLE: Final = 1013
#: The client did not read its frames fast enough; its queue was full. Reconnect and resume.
CLOSE_TOO_SLOW: Final = 4408

# --------------------------------------------------------------------------------------------- error codes
# The ``code`` of an ERROR frame the toolkit sends; a handler's own ProblemError brings its own code.

#: Not JSON, not an object, no string ``type``, or a binary frame.
FRAME_MALFORMED: Final = "FRAME_MALFORMED"
#: A ``type`` this socket does not take.
FRAME_UNKNOWN: Final = "FRAME_UNKNOWN"
#: The payload failed validation against the handler's model.
FRAME_INVALID: Final = "FRAME_INVALID"
#: Larger than the channel's ``max_frame_bytes``.
FRAME_TOO_LARGE: Final = "FRAME_TOO_LARGE"
#: The topic does not exist or is not the caller's to see (the two are not told apart, as an HTTP 404).
TOPIC_NOT_FOUND: Final = "TOPIC_NOT_FOUND"
#: The socket already follows the channel's ``max_topics``.
TOO_MANY_TOPICS: Final = "TOO_MANY_TOPICS"
#: A handler failed unexpectedly (it is logged); the socket stays open.
INTERNAL_ERROR: Final = "INTERNAL_ERROR"

#: A position in a topic, supplied by the plugin from its store: a chat's per-room sequence number, a
#: notification's id. The toolkit only compares cursors for equality (to drop duplicates), never orders them.
Cursor = int | str
Payload = BaseModel | Mapping[str, Any] | None

_TYPE = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*$")
_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=str)


def check_type(type_: str) -> str:
    """``type_`` if it is UPPER_SNAKE_CASE, else ValueError (a frame type is part of the protocol)."""
    if not isinstance(type_, str) or not _TYPE.match(type_):
        raise ValueError(f"frame type {type_!r} must be UPPER_SNAKE_CASE, e.g. MESSAGE_RECEIVED")
    return type_


@functools.cache
def _wire_names(model: type[BaseModel]) -> frozenset[str]:
    return frozenset(info.alias or name for name, info in model.model_fields.items())


@functools.cache
def _head(type_: str) -> str:
    return '{"type":' + _ENCODER.encode(check_type(type_))


def encode(type_: str, payload: Payload = None) -> str:
    """The JSON text of a frame: ``{"type": type_, ...payload's fields in camelCase}``."""
    head = _head(type_)
    if payload is None:
        return head + "}"
    if isinstance(payload, BaseModel):
        if "type" in _wire_names(type(payload)):
            raise ValueError(
                f"{type(payload).__name__} has a field named 'type', which the frame's type takes"
            )
        body = payload.model_dump_json(by_alias=True)
    else:
        if "type" in payload:
            raise ValueError("a frame's payload cannot have a 'type' key: the frame's type takes it")
        body = _ENCODER.encode(dict(payload))
    return head + "}" if body == "{}" else head + "," + body[1:]


def check_cursor(cursor: object) -> Cursor | None:
    if cursor is None or (isinstance(cursor, int | str) and not isinstance(cursor, bool)):
        return cursor
    raise TypeError(f"a cursor is an int or a str, not {type(cursor).__name__}")


@dataclass(frozen=True, slots=True)
class Frame:
    """A frame to send: its type, its payload, and the cursor that places it in its topic (if any).

    A replay callback returns these; ``cursor`` lets the toolkit drop a live copy of a frame it replayed.
    """

    type: str
    payload: Payload = None
    cursor: Cursor | None = None

    def encode(self) -> str:
        return encode(self.type, self.payload)
