"""Every event the video plugin publishes is documented in ``docs/video.md`` with its type name and every
field by its wire name, for the plugins that consume it."""

from __future__ import annotations

from pathlib import Path

import pytest
from wealist_plugins.video import contract

from wealist_core import DomainEvent
from wealist_core.events import declared_events

DOC = Path(__file__).resolve().parents[2] / "docs" / "video.md"
EVENTS = [contract.CallStarted, contract.CallEnded]


def test_the_contract_declares_every_video_event() -> None:
    assert {cls.event_type for cls in declared_events("video")} == {cls.event_type for cls in EVENTS}


@pytest.mark.parametrize("event", EVENTS, ids=lambda cls: cls.event_type)
def test_each_event_is_documented_with_every_field(event: type[DomainEvent]) -> None:
    [row] = [
        line
        for line in DOC.read_text(encoding="utf-8").splitlines()
        if line.startswith(f"| `{event.event_type}`")
    ]
    assert f"(`{event.__name__}`)" in row
    for name, info in event.model_fields.items():
        assert f"`{info.alias or name}`" in row, f"{event.event_type}: {info.alias or name} is not documented"
