"""Request and response models: camelCase on the wire, snake_case in Python, unknown fields refused."""

from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

__all__ = ["ApiModel", "Page"]

T = TypeVar("T")


class ApiModel(BaseModel):
    """Base of every body model. ``Task(task_id=...)`` serialises as ``{"taskId": ...}``; input accepts the
    camelCase names (and the Python names), and an unknown field is a validation error, not silence."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        from_attributes=True,
        ser_json_timedelta="float",
    )


class Page(ApiModel, Generic[T]):
    """A page of a cursor-paginated list: pass ``nextCursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(default=None)
