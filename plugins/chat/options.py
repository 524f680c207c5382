"""The chat plugin's settings (``WEALIST_CHAT__...``), read once at start-up.

| setting | default | meaning |
|---|---|---|
| ``MAX_MESSAGE_LENGTH`` | 4000 | characters a message may hold (an empty one is refused too) |
| ``MAX_PARTICIPANTS`` | 1000 | people a group or project chat may hold |
| ``PRESENCE_TTL`` | 60 | seconds a socket's presence lives in the key-value store without a refresh |
| ``RESUME_LIMIT`` | 200 | messages a RESUME replays per chat; more missed answers ``RESYNC`` |
"""

from __future__ import annotations

from dataclasses import dataclass

from wealist_core import ConfigurationError, PluginSettings

__all__ = ["ChatOptions"]


@dataclass(frozen=True, slots=True)
class ChatOptions:
    max_message_length: int = 4000
    max_participants: int = 1000
    presence_ttl: int = 60
    resume_limit: int = 200

    @classmethod
    def read(cls, options: PluginSettings) -> ChatOptions:
        def number(name: str, default: int, minimum: int) -> int:
            raw = options.option(name, str(default))
            try:
                value = int(raw)
            except ValueError:
                raise ConfigurationError(
                    f"WEALIST_CHAT__{name.upper()} is {raw!r}, not a whole number."
                ) from None
            if value < minimum:
                raise ConfigurationError(f"WEALIST_CHAT__{name.upper()} must be at least {minimum}.")
            return value

        return cls(
            max_message_length=number("max_message_length", 4000, 1),
            max_participants=number("max_participants", 1000, 2),
            presence_ttl=number("presence_ttl", 60, 5),
            resume_limit=number("resume_limit", 200, 1),
        )
