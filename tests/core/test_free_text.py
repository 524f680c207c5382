"""Free text keeps its line breaks wherever ``Text`` is written: bare, optional or in a list."""

from __future__ import annotations

import pydantic
import pytest

from wealist_core.http import ApiModel, Field, Text
from wealist_core.http.models import INPUT_CONTEXT


class Note(ApiModel):
    title: str = Field(max_length=50)
    body: Text = ""
    summary: Text | None = None
    lines: list[Text] = []


def _validate(data: dict[str, object]) -> Note:
    return Note.model_validate(data, context={INPUT_CONTEXT: True})


def test_text_keeps_line_breaks_and_tabs_bare_optional_and_in_lists() -> None:
    note = _validate({"title": "t", "body": "a\nb\tc", "summary": "one\r\ntwo", "lines": ["x\ny"]})
    assert (note.body, note.summary, note.lines) == ("a\nb\tc", "one\r\ntwo", ["x\ny"])


@pytest.mark.parametrize(
    "data",
    [
        {"title": "two\nlines"},
        {"title": "t", "summary": "nul\x00"},
        {"title": "t", "lines": ["bell\x07"]},
    ],
)
def test_plain_strings_refuse_line_breaks_and_text_still_refuses_other_controls(
    data: dict[str, object],
) -> None:
    with pytest.raises(pydantic.ValidationError, match="control character"):
        _validate(data)
