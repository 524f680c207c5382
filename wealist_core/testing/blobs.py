"""Following presigned blob URLs in tests, whichever blob store signed them.

The local store's URLs point at the host's own ``/blobs/`` routes, which the in-process client reaches; an
S3 store's point at the S3 server, reached over HTTP. :func:`send_presigned` sends to the right one, so a
suite runs unchanged on both (``WEALIST_TEST_BLOBSTORE=s3`` puts :func:`hermetic_settings` on S3).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx

__all__ = ["send_presigned"]


async def send_presigned(client: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """``method`` on the presigned ``url``: through ``client`` (the app) for the local store's URLs, over
    HTTP for any other server's."""
    parts = urlsplit(url)
    if parts.path.startswith("/blobs/"):
        return await client.request(method, f"{parts.path}?{parts.query}", **kwargs)
    async with httpx.AsyncClient(timeout=30) as outside:
        return await outside.request(method, url, **kwargs)
