"""The user plugin's settings (``WEALIST_USER__<NAME>``), read once at configuration."""

from __future__ import annotations

from dataclasses import dataclass

from wealist_core import ConfigurationError, Settings

__all__ = ["AVATAR_TYPES", "UserOptions"]

#: Avatar media types: raster images browsers display (no SVG, which can carry scripts).
AVATAR_TYPES = {"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}


@dataclass(frozen=True)
class UserOptions:
    """Limits and lifetimes; every one can be set per deployment."""

    public_url: str = "http://127.0.0.1:8000"
    max_admins: int = 4
    invitation_ttl_days: int = 7
    restore_grace_days: int = 30
    avatar_max_bytes: int = 20 * 1024 * 1024
    avatar_upload_ttl: int = 900  # seconds an upload URL (and its key) stays valid
    avatar_url_ttl: int = 3600  # seconds an avatar's download URL stays valid

    @classmethod
    def from_settings(cls, settings: Settings) -> UserOptions:
        own = settings.for_plugin("user")
        values: dict[str, int] = {}
        for name in (
            "max_admins",
            "invitation_ttl_days",
            "restore_grace_days",
            "avatar_max_bytes",
            "avatar_upload_ttl",
            "avatar_url_ttl",
        ):
            raw = own.option(name)
            if raw is None:
                continue
            try:
                values[name] = int(raw)
                if values[name] < 1:
                    raise ValueError
            except ValueError:
                raise ConfigurationError(
                    f"WEALIST_USER__{name.upper()} is {raw!r}; set it to a whole number of at least 1."
                ) from None
        return cls(public_url=settings.public_url.rstrip("/"), **values)
