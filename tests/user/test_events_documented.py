"""Every event the user plugin publishes is documented for the plugins that consume it: its type name and
every field by its wire name, in ``docs/user.md`` or ``docs/plugins.md``."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from wealist_plugins.user import contract

from wealist_core import DomainEvent
from wealist_core.events import declared_events

DOCS = Path(__file__).resolve().parents[2] / "docs"
EVENTS = sorted(
    (
        value
        for value in vars(contract).values()
        if isinstance(value, type) and issubclass(value, DomainEvent) and value.event_type.startswith("user.")
    ),
    key=lambda cls: cls.event_type,
)
_EVENT_TYPE = re.compile(r"`[a-z_]+\.[a-z_]+`")


def wire_names(cls: type[DomainEvent]) -> list[str]:
    return [info.alias or name for name, info in cls.model_fields.items()]


def passages_of(event_type: str) -> list[str]:
    """Every passage that names ``event_type`` in backticks: from that line to the next heading or the next
    line naming another of the plugin's event types (a table row, or a subsection of its own)."""
    found: list[str] = []
    for doc in ("user.md", "plugins.md"):
        lines = (DOCS / doc).read_text(encoding="utf-8").splitlines()
        for start, line in enumerate(lines):
            if f"`{event_type}`" not in line:
                continue
            passage = [line]
            for following in lines[start + 1 :]:
                named = {m.strip("`") for m in _EVENT_TYPE.findall(following)}
                if following.startswith("#") or (named & _TYPES) - {event_type}:
                    break
                passage.append(following)
            found.append("\n".join(passage))
    return found


_TYPES = {cls.event_type for cls in EVENTS}


def test_the_contract_declares_the_user_plugin_s_events() -> None:
    assert {cls.event_type for cls in declared_events("user")} >= _TYPES
    assert len(EVENTS) >= 9


@pytest.mark.parametrize("event", EVENTS, ids=lambda cls: cls.event_type)
def test_each_event_is_documented_with_every_field_by_its_wire_name(event: type[DomainEvent]) -> None:
    passages = passages_of(event.event_type)

    assert passages, f"{event.event_type} is named in neither docs/user.md nor docs/plugins.md"
    # The passage that documents the event is the one naming the most of its fields (others may merely
    # mention the event in passing).
    missing = min(
        ([name for name in wire_names(event) if f"`{name}`" not in passage] for passage in passages), key=len
    )
    assert missing == [], f"the documentation of {event.event_type} does not name {missing}"
