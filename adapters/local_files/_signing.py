"""HMAC-SHA256 signatures for the local blob store's upload and download URLs.

A signed URL carries its grant in the query string (method, expiry, content type, size limit, filename) and a
signature over all of them and the key, so changing any one of them (say, raising the size limit) voids it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass

from wealist_core.errors import Forbidden

__all__ = ["BlobGrant", "BlobUrlSigner"]

_VERSION = "v1"
# The secret key signs other things too; a key derived for this one purpose keeps the signatures apart.
_PURPOSE = b"wealist.blobstore.url." + _VERSION.encode()


@dataclass(frozen=True, slots=True)
class BlobGrant:
    """What one signed URL allows: ``method`` on ``key`` until ``expires`` (Unix seconds), within limits."""

    method: str
    key: str
    expires: int
    content_type: str = ""  # PUT: the only media type accepted
    max_size: int | None = None  # PUT: the most bytes accepted
    filename: str = ""  # GET: the download name

    def fields(self) -> dict[str, str]:
        """The query parameters, without the signature, exactly as they are signed."""
        out = {"method": self.method, "expires": str(self.expires)}
        if self.content_type:
            out["type"] = self.content_type
        if self.max_size is not None:
            out["max"] = str(self.max_size)
        if self.filename:
            out["filename"] = self.filename
        return out


class BlobUrlSigner:
    """Signs grants into query parameters and verifies them (in constant time) on the way back in."""

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("Blob URLs cannot be signed with an empty secret key.")
        self._key = hmac.new(secret_key.encode(), _PURPOSE, hashlib.sha256).digest()

    def query(self, grant: BlobGrant) -> dict[str, str]:
        fields = grant.fields()
        return {**fields, "signature": self._sign(grant.key, fields)}

    def verify(self, *, method: str, key: str, query: Mapping[str, str], now: float) -> BlobGrant:
        """The grant ``query`` signs for ``key``; ``Forbidden`` when forged, for another method or expired."""
        # The signature covers the parameters as they were sent, so they are checked before being parsed.
        fields = {
            name: query[name] for name in ("method", "expires", "type", "max", "filename") if name in query
        }
        expected = self._sign(key, fields).encode()
        given = query.get("signature", "").encode("utf-8", "replace")
        if "method" not in fields or "expires" not in fields or not hmac.compare_digest(expected, given):
            raise Forbidden(
                "This blob URL's signature does not match; ask for a new URL instead of editing one.",
                code="SIGNATURE_INVALID",
            )
        grant = BlobGrant(
            method=fields["method"],
            key=key,
            expires=int(fields["expires"]),
            content_type=fields.get("type", ""),
            max_size=int(fields["max"]) if "max" in fields else None,
            filename=fields.get("filename", ""),
        )
        if grant.method != method:
            raise Forbidden(
                f"This blob URL was signed for {grant.method} requests, not {method}.",
                code="SIGNATURE_INVALID",
            )
        if now >= grant.expires:
            raise Forbidden("This blob URL has expired; ask for a new one.", code="URL_EXPIRED")
        return grant

    def _sign(self, key: str, fields: Mapping[str, str]) -> str:
        # JSON keeps the message unambiguous whatever the values contain (newlines, separators).
        message = json.dumps(
            [
                _VERSION,
                key,
                *(fields.get(name, "") for name in ("method", "expires", "type", "max", "filename")),
            ],
            ensure_ascii=False,
            separators=(",", ":"),
        )
        return hmac.new(self._key, message.encode(), hashlib.sha256).hexdigest()
