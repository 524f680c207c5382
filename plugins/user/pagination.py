"""Keyset pagination: a list is ordered by a unique key, and the cursor is the key of the last item sent.

The cursor is opaque to clients (URL-safe base64 of a small JSON array); a cursor that does not decode is
a 422, never a 500.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from wealist_core import ValidationProblem
from wealist_core.http import ApiModel, Field

__all__ = ["PageQuery", "decode_cursor", "encode_cursor", "split_page"]

T = TypeVar("T")

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


class PageQuery(ApiModel):
    """``limit`` and ``cursor`` of every list."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(default=None, max_length=500, description="nextCursor of the previous page.")


def _plain(value: Any) -> Any:
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_plain(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str | None, kinds: Sequence[type]) -> tuple[Any, ...] | None:
    """The key a cursor carries, each part converted to its kind (``uuid.UUID``, ``dt.datetime``, ``str``)."""
    if cursor is None:
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        parts = json.loads(raw)
        if not isinstance(parts, list) or len(parts) != len(kinds):
            raise ValueError("wrong shape")
        out: list[Any] = []
        for kind, part in zip(kinds, parts, strict=True):
            if not isinstance(part, str):
                raise ValueError("not a string")
            if kind is uuid.UUID:
                out.append(uuid.UUID(hex=part))
            elif kind is dt.datetime:
                value = dt.datetime.fromisoformat(part)
                if value.tzinfo is None:
                    raise ValueError("naive time")
                out.append(value)
            else:
                out.append(part)
        return tuple(out)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise ValidationProblem(
            "query.cursor: not a cursor this list gave out; start again without one.",
            errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "cursor"}],
        ) from None


def split_page(
    rows: Sequence[T], limit: int, key: Callable[[T], Sequence[Any]]
) -> tuple[list[T], str | None]:
    """``rows`` fetched with ``limit + 1``: the page, and the cursor of the next one (None at the end)."""
    if len(rows) <= limit:
        return list(rows), None
    page = list(rows[:limit])
    return page, encode_cursor(key(page[-1]))
