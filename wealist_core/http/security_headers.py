"""Security headers on every answer of the host.

Every answer carries ``X-Content-Type-Options: nosniff``; an HTML page also carries ``X-Frame-Options: DENY``,
a ``Content-Security-Policy`` that forbids framing and foreign scripts, and ``Referrer-Policy``. A header
already set by a route is kept.
"""

from __future__ import annotations

import base64
import hashlib

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["HTML_CSP", "SecurityHeadersMiddleware", "csp_for_inline_script"]

# The web app loads its scripts and styles from this origin; API calls and sockets go to this origin.
HTML_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob:; "
    "font-src 'self' data:; connect-src 'self' ws: wss:; worker-src 'self' blob:; frame-ancestors 'none'; "
    "base-uri 'self'; form-action 'self'; object-src 'none'"
)


def csp_for_inline_script(script: str) -> str:
    """:data:`HTML_CSP` also allowing the one inline ``script`` of a page (by its SHA-256)."""
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return HTML_CSP.replace("script-src 'self'", f"script-src 'self' 'sha256-{digest}'")


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                if headers.get("content-type", "").startswith("text/html"):
                    headers.setdefault("X-Frame-Options", "DENY")
                    headers.setdefault("Content-Security-Policy", HTML_CSP)
                    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
            await send(message)

        await self.app(scope, receive, send_with_headers)
