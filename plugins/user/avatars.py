"""Avatar URLs: the blob key a profile stores, turned into a short-lived signed download URL."""

from __future__ import annotations

import logging

from wealist_core import BlobStore

__all__ = ["AvatarUrls"]

log = logging.getLogger("wealist.user")


class AvatarUrls:
    """Signs GET URLs for avatar keys; an avatar that cannot be signed is shown as none, not as an error."""

    def __init__(self, blobs: BlobStore, ttl: int) -> None:
        self.blobs = blobs
        self.ttl = ttl

    async def url(self, key: str | None) -> str | None:
        if not key:
            return None
        try:
            return (await self.blobs.presign_get(key, expires_in=self.ttl)).url
        except Exception:  # a broken blob store must not break the member list
            log.exception("signing the avatar %s failed", key)
            return None
