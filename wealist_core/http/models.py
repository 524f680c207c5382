"""Request and response models: camelCase on the wire, snake_case in Python, unknown fields refused.

Every string of a request model refuses NUL, other control characters, lone surrogates and bidirectional
overrides (422 naming the field). A free-text field that legitimately holds line breaks and tabs is
annotated :data:`Text`: it accepts ``\\n``, ``\\r`` and ``\\t`` (and bidirectional marks), still never NUL or
any other control character. The check applies to what a request sends (the host validates the query and the
body with :data:`INPUT_CONTEXT`), never to response models built from stored values.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Generic, TypeVar, get_args, get_origin

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic.alias_generators import to_camel
from pydantic_core import PydanticCustomError

__all__ = ["ApiModel", "Page", "Text"]

T = TypeVar("T")

INPUT_CONTEXT = "wealist_request_input"
"""Key of the validation context under which the host validates a request's query and body."""


class _FreeText:
    """Marker of :data:`Text` in a field's metadata."""

    def __repr__(self) -> str:
        return "Text"


_FREE_TEXT = _FreeText()

Text = Annotated[str, _FREE_TEXT]
"""A free-text string (a description, a message body): line breaks and tabs are allowed in it."""

# C0 and C1 controls, DEL, lone surrogates, and the bidirectional embeddings, overrides and isolates.
_REFUSED = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\u202a-\u202e\u2066-\u2069]")
_REFUSED_IN_TEXT = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")


def refused_text(value: str) -> bool:
    """Whether a plain (non-:data:`Text`) string holds a character a request may not send."""
    return _REFUSED.search(value) is not None


def _names_free_text(annotation: Any) -> bool:
    """Whether :data:`Text` appears inside ``annotation`` (``Text | None``, ``list[Text]``)."""
    if get_origin(annotation) is Annotated:
        return any(item is _FREE_TEXT for item in annotation.__metadata__)
    return any(_names_free_text(arg) for arg in get_args(annotation))


def _check(value: Any, pattern: re.Pattern[str]) -> None:
    if isinstance(value, str):
        if pattern.search(value) is not None:
            raise PydanticCustomError(
                "control_character",
                "The text holds a NUL, a control character or a bidirectional override, which is refused.",
            )
    elif isinstance(value, (list, tuple, set, frozenset)):
        for item in value:
            _check(item, pattern)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check(key, pattern)
            _check(item, pattern)


class ApiModel(BaseModel):
    """Base of every body model. ``Task(task_id=...)`` serialises as ``{"taskId": ...}``; input accepts the
    camelCase names (and the Python names), and an unknown field is a validation error, not silence.

    Strings refuse control characters unless the field is :data:`Text` (see the module's docstring)."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="forbid",
        from_attributes=True,
        ser_json_timedelta="float",
    )

    @field_validator("*", mode="after")
    @classmethod
    def _no_control_characters(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or isinstance(value, (bool, int, float, BaseModel)):
            return value
        if not (isinstance(info.context, dict) and info.context.get(INPUT_CONTEXT)):
            return value  # a response or an internal value: only what a request sends is checked
        field = cls.model_fields.get(info.field_name) if info.field_name else None
        free_text = field is not None and (
            any(item is _FREE_TEXT for item in field.metadata) or _names_free_text(field.annotation)
        )
        _check(value, _REFUSED_IN_TEXT if free_text else _REFUSED)
        return value


class Page(ApiModel, Generic[T]):
    """A page of a cursor-paginated list: pass ``nextCursor`` back as ``cursor`` for the next one."""

    items: list[T]
    next_cursor: str | None = Field(default=None)
