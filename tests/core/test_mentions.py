"""Mentions are found in both written forms, once each, never inside code or an address."""

from __future__ import annotations

import uuid

from wealist_core.mentions import mentioned_ids

ADA, BOB = uuid.uuid4(), uuid.uuid4()


def test_both_forms_are_found_once_each_in_order() -> None:
    text = f"@[Bob B]({BOB}) please ask @{ADA}, and @[Bob]({BOB}) again"
    assert mentioned_ids(text) == [BOB, ADA]


def test_code_addresses_and_names_alone_are_no_mentions() -> None:
    text = f"`@{ADA}`\n```\n@{BOB}\n```\nmail me at bob@{ADA}.example or @Bob"
    assert mentioned_ids(text) == []
