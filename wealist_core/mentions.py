"""``@mentions`` in markdown texts (comments, chat messages).

A client writes a mention as ``@[Ada Lovelace](9b2f...-uuid)`` (what an editor's member picker inserts: the
name shown, the user id that counts) or as a bare ``@9b2f...-uuid``. Names alone are never resolved: two
members may share one. Mentions inside code (`` `...` `` and fenced blocks) are not mentions.

    >>> str(mentioned_ids("hi @[Ada](5f1c1f3e-0a53-4c0e-9a51-0f4a3b8c2d11)")[0])
    '5f1c1f3e-0a53-4c0e-9a51-0f4a3b8c2d11'
"""

from __future__ import annotations

import re
import uuid

__all__ = ["mentioned_ids"]

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MENTION = re.compile(rf"(?<![\w@])@(?:\[[^\]\n]{{1,100}}\]\(({_UUID})\)|({_UUID})(?![\w-]))")
_CODE = re.compile(r"```.*?(?:```|\Z)|`[^`\n]*`", re.DOTALL)


def mentioned_ids(text: str) -> list[uuid.UUID]:
    """The user ids ``text`` mentions, each once, in the order of their first mention."""
    seen: dict[uuid.UUID, None] = {}
    for match in _MENTION.finditer(_CODE.sub(" ", text)):
        seen.setdefault(uuid.UUID(match.group(1) or match.group(2)), None)
    return list(seen)
