"""The video plugin's settings (``WEALIST_VIDEO__...``), read once at start-up.

| setting | default | meaning |
|---|---|---|
| ``MAX_CAPACITY`` | 50 | the largest capacity a room may be given |
| ``TOKEN_TTL`` | 3600 | seconds a join token is valid for connecting (and reconnecting) |
| ``SEAT_HOLD`` | 120 | seconds a seat granted at join is held for a member who has not connected yet |
| ``STUN_URLS`` | empty | comma-separated STUN URLs given to browsers (``stun:turn.example.com:3478``) |
| ``TURN_URLS`` | empty | comma-separated TURN URLs (``turn:turn.example.com:3478?transport=udp,turns:...``) |
| ``TURN_SECRET`` | empty | Coturn's ``static-auth-secret``: TURN credentials are derived from it per join |
| ``TURN_TTL`` | 86400 | seconds TURN credentials are valid |
"""

from __future__ import annotations

from dataclasses import dataclass

from wealist_core import ConfigurationError, PluginSettings

__all__ = ["VideoOptions"]


def _urls(raw: str) -> tuple[str, ...]:
    return tuple(url.strip() for url in raw.split(",") if url.strip())


@dataclass(frozen=True, slots=True)
class VideoOptions:
    max_capacity: int = 50
    token_ttl: int = 3600
    seat_hold: int = 120
    stun_urls: tuple[str, ...] = ()
    turn_urls: tuple[str, ...] = ()
    turn_secret: str = ""
    turn_ttl: int = 86400

    @classmethod
    def read(cls, options: PluginSettings) -> VideoOptions:
        def number(name: str, default: int, minimum: int) -> int:
            raw = options.option(name, str(default))
            try:
                value = int(raw)
            except ValueError:
                raise ConfigurationError(
                    f"WEALIST_VIDEO__{name.upper()} is {raw!r}, not a whole number."
                ) from None
            if value < minimum:
                raise ConfigurationError(f"WEALIST_VIDEO__{name.upper()} must be at least {minimum}.")
            return value

        stun = _urls(options.option("stun_urls", ""))
        turn = _urls(options.option("turn_urls", ""))
        for url in stun:
            if not url.startswith("stun:") and not url.startswith("stuns:"):
                raise ConfigurationError(f"WEALIST_VIDEO__STUN_URLS has {url!r}, which is no stun: URL.")
        for url in turn:
            if not url.startswith("turn:") and not url.startswith("turns:"):
                raise ConfigurationError(f"WEALIST_VIDEO__TURN_URLS has {url!r}, which is no turn: URL.")
        secret = options.option("turn_secret", "")
        if turn and not secret:
            raise ConfigurationError(
                "WEALIST_VIDEO__TURN_URLS is set without WEALIST_VIDEO__TURN_SECRET; set it to Coturn's "
                "static-auth-secret."
            )
        return cls(
            max_capacity=number("max_capacity", 50, 2),
            token_ttl=number("token_ttl", 3600, 60),
            seat_hold=number("seat_hold", 120, 10),
            stun_urls=stun,
            turn_urls=turn,
            turn_secret=secret,
            turn_ttl=number("turn_ttl", 86400, 60),
        )
