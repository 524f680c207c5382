"""The user plugin's settings (``WEALIST_USER__<NAME>``), read once at configuration."""

from __future__ import annotations

from dataclasses import dataclass

from wealist_core import RASTER_IMAGES, ConfigurationError, Settings, UploadPolicy

__all__ = ["UserOptions", "avatar_policy"]


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


def avatar_policy(options: UserOptions) -> UploadPolicy:
    """Avatars: raster images browsers display (no SVG, which can carry scripts), within the size limit; a
    key no profile shows is purged once twice its upload URL's lifetime has passed."""
    return UploadPolicy(
        types=RASTER_IMAGES,
        max_size=options.avatar_max_bytes,
        url_ttl=options.avatar_upload_ttl,
        pending_ttl=2 * options.avatar_upload_ttl,
        download_ttl=options.avatar_url_ttl,
    )
