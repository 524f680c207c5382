"""``LocalBlobStore``: the blob store port on local disk, with upload and download URLs the host serves.

``file://data/blobs`` (relative to the working directory) or ``file:///srv/wealist/blobs``. A presigned URL
points at ``<WEALIST_PUBLIC_URL>/blobs/<key>`` and is signed with HMAC-SHA256 under ``WEALIST_SECRET_KEY``;
:meth:`LocalBlobStore.routes` gives the host the two routes that check and serve it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import AsyncIterable, Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlencode

import anyio
import anyio.to_thread
from wealist_adapters.local_files._disk import BlobDirectory, StoredBlob, etag_of
from wealist_adapters.local_files._signing import BlobGrant, BlobUrlSigner

from wealist_core.adapters import AdapterContext
from wealist_core.blob_names import validate_content_type, validate_filename, validate_key
from wealist_core.errors import (
    AdapterError,
    AdapterUnavailable,
    ConfigurationError,
    NotFound,
    PayloadTooLarge,
)
from wealist_core.ports import BlobInfo, BlobStore, PresignedUrl

if TYPE_CHECKING:
    from starlette.routing import BaseRoute

__all__ = ["MAX_EXPIRES_IN", "LocalBlobStore"]

MAX_EXPIRES_IN = 7 * 24 * 3600  # S3's limit for presigned URLs, so callers cannot depend on more
_URL_PREFIX = "/blobs/"


class LocalBlobStore(BlobStore):
    """Objects as files in one directory; the host itself serves their HMAC-signed upload and download URLs.

    ``clock`` (Unix seconds) decides when signed URLs expire; tests pass one they can move forward.
    """

    def __init__(
        self,
        root: Path,
        *,
        secret_key: str,
        public_url: str,
        url: str | None = None,
        setting: str = "WEALIST_BLOBSTORE_URL",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.root = root
        self.url = url or f"file://{root}"
        self._setting = setting
        self._public_url = public_url.rstrip("/")
        self._signer = BlobUrlSigner(secret_key) if secret_key else None
        self._files = BlobDirectory(root)
        self._clock = clock

    @classmethod
    def from_context(cls, context: AdapterContext) -> LocalBlobStore:
        return cls(
            root_from_url(context.url, context.setting),
            secret_key=context.settings.secret_key,
            public_url=context.settings.public_url,
            url=context.url,
            setting=context.setting,
        )

    # ------------------------------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        self._require_signer()
        try:
            await anyio.to_thread.run_sync(self._files.prepare)
        except OSError as exc:
            raise AdapterUnavailable(
                f"{self._setting} is {self.url}, but {self.root} cannot be written ({exc.strerror or exc}); "
                f"make that directory writable or point {self._setting} at one that is."
            ) from exc

    async def check(self) -> None:
        await anyio.to_thread.run_sync(self._files.check)

    def routes(self) -> Sequence[BaseRoute]:
        from wealist_adapters.local_files._routes import blob_routes

        return blob_routes(self)

    # --------------------------------------------------------------------------------------------- objects

    async def put(self, key: str, data: bytes, *, content_type: str = "application/octet-stream") -> BlobInfo:
        validate_key(key)
        content_type = validate_content_type(content_type)
        return await anyio.to_thread.run_sync(self._files.write, key, bytes(data), content_type)

    async def get(self, key: str) -> bytes:
        validate_key(key)
        data = await anyio.to_thread.run_sync(self._files.read, key)
        if data is None:
            raise NotFound(f"No blob has the key {key!r}.")
        return data

    async def head(self, key: str) -> BlobInfo | None:
        found = await self.find(key)
        return found.info if found else None

    async def delete(self, key: str) -> None:
        validate_key(key)
        await anyio.to_thread.run_sync(self._files.remove, key)

    async def find(self, key: str) -> StoredBlob | None:
        """The object's metadata and file, for serving it; None when there is none."""
        validate_key(key)
        return await anyio.to_thread.run_sync(self._files.find, key)

    async def write_stream(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str, max_size: int
    ) -> BlobInfo:
        """Store the bytes of ``chunks`` as ``key``; ``PayloadTooLarge`` past ``max_size``, storing nothing.

        The bytes go to a temporary file that replaces the object only once complete, so a refused or broken
        upload never leaves a partial object (nor disturbs an older one under the same key).
        """
        validate_key(key)
        temp = await anyio.to_thread.run_sync(self._files.temp_path, key)
        digest = hashlib.md5(usedforsecurity=False)
        size = 0
        try:
            async with await anyio.open_file(temp, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_size:
                        raise PayloadTooLarge(f"This upload URL accepts at most {max_size} bytes.")
                    digest.update(chunk)
                    await out.write(chunk)
                await out.flush()
                await anyio.to_thread.run_sync(os.fsync, out.wrapped.fileno())
            info = BlobInfo(key=key, size=size, content_type=content_type, etag=etag_of(digest.hexdigest()))
            await anyio.to_thread.run_sync(self._files.commit, key, temp, info)
            return info
        finally:
            # Shielded: a cancelled upload (client gone) must still remove its temporary file.
            with anyio.CancelScope(shield=True):
                await anyio.to_thread.run_sync(lambda: temp.unlink(missing_ok=True))

    # --------------------------------------------------------------------------------------- signed URLs

    async def presign_put(
        self, key: str, *, content_type: str, max_size: int, expires_in: int = 900
    ) -> PresignedUrl:
        validate_key(key)
        content_type = validate_content_type(content_type)
        if isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 0:
            raise ValueError(f"max_size must be a whole number of bytes >= 0, not {max_size!r}.")
        grant = BlobGrant(
            method="PUT",
            key=key,
            expires=self._expiry(expires_in),
            content_type=content_type,
            max_size=max_size,
        )
        return self._presigned(grant, headers={"Content-Type": content_type})

    async def presign_get(
        self, key: str, *, expires_in: int = 900, filename: str | None = None
    ) -> PresignedUrl:
        validate_key(key)
        if filename is not None:
            validate_filename(filename)
        grant = BlobGrant(method="GET", key=key, expires=self._expiry(expires_in), filename=filename or "")
        return self._presigned(grant, headers={})

    def authorize(self, method: str, key: str, query: Mapping[str, str]) -> BlobGrant:
        """The grant of a signed URL's query for ``method`` on ``key``; ``Forbidden`` unless it holds."""
        return self._require_signer().verify(method=method, key=key, query=query, now=self._clock())

    def now(self) -> float:
        return self._clock()

    def _presigned(self, grant: BlobGrant, *, headers: Mapping[str, str]) -> PresignedUrl:
        query = urlencode(self._require_signer().query(grant), quote_via=quote)
        return PresignedUrl(
            url=f"{self._public_url}{_URL_PREFIX}{quote(grant.key, safe='/')}?{query}",
            method=grant.method,
            expires_at=dt.datetime.fromtimestamp(grant.expires, dt.UTC),
            headers=dict(headers),
        )

    def _expiry(self, expires_in: int) -> int:
        if (
            isinstance(expires_in, bool)
            or not isinstance(expires_in, int)
            or not 0 < expires_in <= MAX_EXPIRES_IN
        ):
            raise ValueError(
                f"expires_in must be between 1 and {MAX_EXPIRES_IN} seconds, not {expires_in!r}."
            )
        return int(self._clock()) + expires_in

    def _require_signer(self) -> BlobUrlSigner:
        if self._signer is None:
            raise ConfigurationError(
                f"WEALIST_SECRET_KEY is empty, but the local blob store ({self._setting}={self.url}) "
                "signs its upload and download URLs with it; set WEALIST_SECRET_KEY to a long random string."
            )
        return self._signer


def root_from_url(url: str, setting: str = "WEALIST_BLOBSTORE_URL") -> Path:
    """``file://data/blobs`` -> ``<cwd>/data/blobs``; ``file:///srv/blobs`` -> ``/srv/blobs``."""
    scheme, sep, rest = url.partition("://")
    # Everything after the scheme is the path, taken literally: a relative data directory puts the
    # directory where a URL parser would see a host name.
    path = rest.split("?", 1)[0].split("#", 1)[0]
    if scheme.lower() != "file" or not sep or not path:
        raise AdapterError(
            f"{setting} is {url!r}, which names no directory; set it to file://<directory>, e.g. file://data/blobs."
        )
    return Path(path).expanduser().absolute()
