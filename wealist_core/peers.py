"""The other processes of a split deployment, as one process sees them: readiness and the API document.

A peer is a plugin named by ``WEALIST_PEERS__<PLUGIN>`` that does not run in this process. Readiness
(``/health/ready``) checks that each peer answers its ``/health/live`` (its liveness, not its readiness: two
processes calling each other must not make each other unready). ``/api/openapi.json`` is this process's
document merged with each peer's own (``/internal/openapi.json``, with the service token), so the one behind
the gateway shows every plugin's routes; a peer that does not answer is left out and named under
``x-wealist-unavailable``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Collection, Mapping
from typing import Any

import httpx
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wealist_core._openapi_merge import merge_openapi
from wealist_core.errors import Unauthorized
from wealist_core.security import service_token_matches
from wealist_core.settings import mask_url

__all__ = ["INTERNAL_OPENAPI", "PeerUnavailable", "Peers"]

log = logging.getLogger("wealist.peers")

#: Where each process serves the document of its own routes, for the others.
INTERNAL_OPENAPI = "/internal/openapi.json"
_TIMEOUT = httpx.Timeout(1.5, connect=1.0)  # inside the 2 s each readiness check is given


class PeerUnavailable(Exception):
    """A peer did not answer, or answered an error; the message names the plugin, never a secret."""


class Peers:
    """The peers of this process and the one HTTP client it asks them with."""

    def __init__(self, peers: Mapping[str, str], *, local: Collection[str], service_token: str) -> None:
        self.urls = {plugin: url for plugin, url in sorted(peers.items()) if plugin not in local}
        self._token = service_token
        self._client: httpx.AsyncClient | None = None

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=_TIMEOUT)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    # ---------------------------------------------------------------------------------------- readiness

    def health_checks(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """``peer:<plugin>`` for each peer, for ``/health/ready``."""
        return {f"peer:{plugin}": self._check(plugin, url) for plugin, url in self.urls.items()}

    def _check(self, plugin: str, url: str) -> Callable[[], Awaitable[None]]:
        async def check() -> None:
            await self._get(plugin, url, "/health/live")

        return check

    async def _get(self, plugin: str, url: str, path: str, **headers: str) -> httpx.Response:
        where = mask_url(url)  # a URL may carry credentials: never show them
        try:
            response = await self._http().get(f"{url}{path}", headers=headers)
        except httpx.HTTPError as exc:
            raise PeerUnavailable(f"'{plugin}' does not answer at {where} ({type(exc).__name__})") from None
        if response.status_code != 200:
            raise PeerUnavailable(f"'{plugin}' at {where} answered {response.status_code} to {path}")
        return response

    # ------------------------------------------------------------------------------------------ OpenAPI

    async def merged_openapi(self, own: Mapping[str, Any]) -> dict[str, Any]:
        """``own`` with every peer's document; the peers that did not answer are named, not fatal."""
        by_url: dict[str, list[str]] = {}
        for plugin, url in self.urls.items():
            by_url.setdefault(url, []).append(plugin)  # several plugins of one process: one document
        if not by_url:
            return dict(own)
        auth = {"Authorization": f"Bearer {self._token}"}
        answers = await asyncio.gather(
            *(self._get(plugins[0], url, INTERNAL_OPENAPI, **auth) for url, plugins in by_url.items()),
            return_exceptions=True,
        )
        documents: list[tuple[str, Mapping[str, Any]]] = []
        unavailable: list[str] = []
        for (_url, plugins), answer in zip(by_url.items(), answers, strict=True):
            document = _document(answer)
            if document is None:
                log.warning("the API document of %s is left out: %s", ", ".join(plugins), answer)
                unavailable += plugins
            else:
                documents.append(("_".join(plugins), document))
        merged = merge_openapi(own, documents)
        if unavailable:
            merged["x-wealist-unavailable"] = unavailable
        return merged

    def own_openapi_endpoint(
        self, own: Callable[[], Mapping[str, Any]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """``GET /internal/openapi.json``: this process's own document, for the process that merges."""

        async def endpoint(request: Request) -> Response:
            scheme, _, token = request.headers.get("authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not service_token_matches(token, self._token):
                raise Unauthorized(
                    "Internal calls need the deployment's service token.", code="SERVICE_TOKEN_INVALID"
                )
            return JSONResponse(dict(own()))

        return endpoint


def _document(answer: httpx.Response | BaseException) -> Mapping[str, Any] | None:
    if isinstance(answer, BaseException):
        return None
    try:
        document = answer.json()
    except ValueError:
        return None
    return document if isinstance(document, dict) and isinstance(document.get("paths"), dict) else None
