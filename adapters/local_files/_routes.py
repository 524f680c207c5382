"""The routes that serve the local blob store's signed URLs: ``PUT`` and ``GET /blobs/{key}``.

They answer like a small S3: the upload answers 200 with the ETag, the download streams the file (with range
requests, for media players). Every refusal is ``application/problem+json`` with a stable ``code``.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Route

from wealist_core.blob_names import content_disposition, media_essence, validate_key
from wealist_core.errors import BadRequest, NotFound, PayloadTooLarge, ProblemError, UnsupportedMediaType
from wealist_core.http.problems import problem_response

if TYPE_CHECKING:
    from wealist_adapters.local_files.blobstore import LocalBlobStore

__all__ = ["blob_routes", "content_disposition"]

Endpoint = Callable[[Request], Awaitable[Response]]

# RFC 5987 attr-chars that quote() would otherwise escape; letters, digits and "-._~" are always kept.


def blob_routes(store: LocalBlobStore) -> list[BaseRoute]:
    """The routes to mount for ``store``'s presigned URLs (GET also answers HEAD)."""
    return [
        Route("/blobs/{key:path}", _problems(_upload(store)), methods=["PUT"], name="blobs:upload"),
        Route("/blobs/{key:path}", _problems(_download(store)), methods=["GET"], name="blobs:download"),
    ]


def _upload(store: LocalBlobStore) -> Endpoint:
    async def upload(request: Request) -> Response:
        key = request.path_params["key"]
        grant = store.authorize("PUT", key, request.query_params)
        _check_key(key)
        sent_type = request.headers.get("content-type", "")
        if media_essence(sent_type) != media_essence(grant.content_type):
            raise UnsupportedMediaType(
                f"This upload URL accepts {grant.content_type} only; send it as the Content-Type header."
            )
        max_size = grant.max_size if grant.max_size is not None else 0
        declared = request.headers.get("content-length", "")
        # Refuse a declared oversize body before reading a byte of it; the stream is counted below anyway,
        # since a chunked body declares nothing.
        if declared.isdigit() and int(declared) > max_size:
            raise PayloadTooLarge(f"This upload URL accepts at most {max_size} bytes.")
        info = await store.write_stream(
            key, request.stream(), content_type=grant.content_type, max_size=max_size
        )
        return Response(status_code=200, headers={"ETag": info.etag or ""})

    return upload


def _download(store: LocalBlobStore) -> Endpoint:
    async def download(request: Request) -> Response:
        key = request.path_params["key"]
        grant = store.authorize("GET", key, request.query_params)  # HEAD reads what GET may read
        _check_key(key)
        found = await store.find(key)
        if found is None:
            raise NotFound("No blob has this key.")
        headers = {
            "Content-Type": found.info.content_type,
            # Browsers may keep it only as long as the URL is valid, and only for this user.
            "Cache-Control": f"private, max-age={max(0, math.floor(grant.expires - store.now()))}",
            "X-Content-Type-Options": "nosniff",
        }
        if media_essence(found.info.content_type) != "application/pdf":
            # Uploads are served from the app's own origin: an uploaded HTML or SVG file opened as a page
            # must not run script there. (Chrome's PDF viewer refuses sandboxed documents; it runs none.)
            headers["Content-Security-Policy"] = "sandbox"
        if found.info.etag:
            headers["ETag"] = found.info.etag
        if grant.filename:
            headers["Content-Disposition"] = content_disposition(grant.filename)
        return FileResponse(
            found.path, headers=headers, media_type=found.info.content_type, stat_result=found.stat
        )

    return download


def _check_key(key: str) -> None:
    # Keys are checked when URLs are signed; this guards the disk should a signature ever be forged.
    try:
        validate_key(key)
    except ValueError as exc:
        raise BadRequest(str(exc), code="INVALID_KEY") from exc


def _problems(endpoint: Endpoint) -> Endpoint:
    # Rendered here, not left to the host's handler, so the routes answer correctly wherever they are
    # mounted. problem_response puts only the path in ``instance``: the query holds the signature.
    async def wrapped(request: Request) -> Response:
        try:
            return await endpoint(request)
        except ProblemError as exc:
            return problem_response(exc, request)

    return wrapped
