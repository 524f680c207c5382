"""Errors of the Wealist host.

::

    WealistError
    ├── ConfigurationError        start-up stops: one sentence, exit status 2, no traceback
    │   ├── PluginError           a plugin is missing, misspelled, duplicated or has unmet needs
    │   ├── AdapterError          no adapter (or two) for a URL scheme, a malformed URL
    │   └── AdapterUnavailable    a configured server (database, Redis, ...) cannot be reached
    └── ProblemError              an HTTP answer as RFC 9457 problem+json with a stable ``code``
        ├── BadRequest            400 BAD_REQUEST
        ├── Unauthorized          401 UNAUTHORIZED
        ├── Forbidden             403 FORBIDDEN
        ├── NotFound              404 NOT_FOUND
        ├── MethodNotAllowed      405 METHOD_NOT_ALLOWED
        ├── Conflict              409 CONFLICT
        ├── PayloadTooLarge       413 PAYLOAD_TOO_LARGE
        ├── UnsupportedMediaType  415 UNSUPPORTED_MEDIA_TYPE
        ├── ValidationProblem     422 VALIDATION_ERROR (with ``errors``)
        ├── RateLimited           429 RATE_LIMITED (with ``Retry-After``)
        └── ServiceUnavailable    503 SERVICE_UNAVAILABLE
            └── DependencyUnavailable  503 SERVICE_UNAVAILABLE naming the dependency, with ``Retry-After``

Raise a ``ProblemError`` subclass anywhere below a route; the host renders it. ``code`` and ``detail`` can be
set per raise: ``raise Unauthorized("A code from your authenticator app is needed.", code="TOTP_REQUIRED")``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

__all__ = [
    "AdapterError",
    "AdapterUnavailable",
    "BadRequest",
    "ConfigurationError",
    "Conflict",
    "DependencyUnavailable",
    "Forbidden",
    "MethodNotAllowed",
    "NotFound",
    "PayloadTooLarge",
    "PluginError",
    "ProblemError",
    "RateLimited",
    "ServiceUnavailable",
    "Unauthorized",
    "UnsupportedMediaType",
    "ValidationProblem",
    "WealistError",
]


class WealistError(Exception):
    """Base of every error the host raises on purpose."""


class ConfigurationError(WealistError):
    """A mistake in configuration or installation, found at start-up. Its message is one sentence that
    names the plugin, the setting and the fix."""


class PluginError(ConfigurationError):
    pass


class AdapterError(ConfigurationError):
    pass


class AdapterUnavailable(ConfigurationError):
    pass


class ProblemError(WealistError):
    """An HTTP error answered as ``application/problem+json``."""

    status: ClassVar[int] = 500
    default_code: ClassVar[str] = "INTERNAL_ERROR"
    title: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        detail: str | None = None,
        *,
        code: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.detail = detail or self.title
        self.code = code or self.default_code
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})
        super().__init__(self.detail)

    def to_problem(self, instance: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": f"https://wealist.dev/problems/{self.code.lower().replace('_', '-')}",
            "title": self.title,
            "status": self.status,
            "code": self.code,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        body.update(self.extra)
        return body


class BadRequest(ProblemError):
    status, default_code, title = 400, "BAD_REQUEST", "Bad request"


class Unauthorized(ProblemError):
    status, default_code, title = 401, "UNAUTHORIZED", "Authentication required"


class Forbidden(ProblemError):
    status, default_code, title = 403, "FORBIDDEN", "Forbidden"


class NotFound(ProblemError):
    status, default_code, title = 404, "NOT_FOUND", "Not found"


class MethodNotAllowed(ProblemError):
    status, default_code, title = 405, "METHOD_NOT_ALLOWED", "Method not allowed"


class Conflict(ProblemError):
    status, default_code, title = 409, "CONFLICT", "Conflict"


class PayloadTooLarge(ProblemError):
    status, default_code, title = 413, "PAYLOAD_TOO_LARGE", "Payload too large"


class UnsupportedMediaType(ProblemError):
    status, default_code, title = 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type"


class ValidationProblem(ProblemError):
    status, default_code, title = 422, "VALIDATION_ERROR", "Validation failed"

    def __init__(self, detail: str | None = None, *, errors: Sequence[Mapping[str, Any]] = (), **kw: Any):
        extra = dict(kw.pop("extra", None) or {})
        extra["errors"] = [dict(e) for e in errors]
        super().__init__(detail, extra=extra, **kw)


class RateLimited(ProblemError):
    status, default_code, title = 429, "RATE_LIMITED", "Too many requests"

    def __init__(self, detail: str | None = None, *, retry_after: int, **kw: Any):
        headers = dict(kw.pop("headers", None) or {})
        headers["Retry-After"] = str(max(1, int(retry_after)))
        super().__init__(detail, headers=headers, extra={"retryAfter": max(1, int(retry_after))}, **kw)


class ServiceUnavailable(ProblemError):
    status, default_code, title = 503, "SERVICE_UNAVAILABLE", "Service unavailable"


class DependencyUnavailable(ServiceUnavailable):
    """A server the process depends on (the database, the key-value store, ...) cannot be reached now.

    Answered as 503 ``SERVICE_UNAVAILABLE`` with ``dependency`` (the port's name, never its address) and
    ``Retry-After``. Adapters raise it (``from`` the driver's error) when a connection fails; the host
    counts each answer in ``wealist_dependency_unavailable_total`` by dependency.
    """

    #: Seconds a client is asked to wait before trying again.
    retry_after_seconds: ClassVar[int] = 5

    def __init__(self, dependency: str, detail: str | None = None, *, retry_after: int | None = None):
        seconds = max(1, int(retry_after if retry_after is not None else self.retry_after_seconds))
        self.dependency = dependency
        super().__init__(
            detail or f"The {dependency} cannot be reached at the moment; try again shortly.",
            headers={"Retry-After": str(seconds)},
            extra={"dependency": dependency, "retryAfter": seconds},
        )
