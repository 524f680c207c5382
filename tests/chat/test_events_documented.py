"""Every event the chat plugin publishes is documented in ``docs/chat.md`` with every field by its wire name,
for the plugins that consume it (noti)."""

from __future__ import annotations

from pathlib import Path

from wealist_plugins.chat import contract

from wealist_core.events import declared_events

DOC = Path(__file__).resolve().parents[2] / "docs" / "chat.md"


def test_every_chat_event_is_documented_with_every_field() -> None:
    assert {cls.event_type for cls in declared_events("chat")} == {contract.MessageCreated.event_type}
    events = DOC.read_text(encoding="utf-8").split("## Events", 1)[1]
    assert f"`{contract.MessageCreated.event_type}`" in events
    for name, info in contract.MessageCreated.model_fields.items():
        assert f"`{info.alias or name}`" in events, f"{info.alias or name} is not documented"
