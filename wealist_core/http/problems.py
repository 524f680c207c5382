"""Rendering every error as RFC 9457 ``application/problem+json`` with a stable ``code``."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wealist_core.errors import (
    BadRequest,
    MethodNotAllowed,
    NotFound,
    PayloadTooLarge,
    ProblemError,
    UnsupportedMediaType,
    ValidationProblem,
)
from wealist_core.observability import request_id_var

__all__ = ["PROBLEM_JSON", "exception_handlers", "problem_response", "validation_problem"]

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger("wealist.http")

_BY_STATUS: Mapping[int, type[ProblemError]] = {
    400: BadRequest,
    404: NotFound,
    405: MethodNotAllowed,
    413: PayloadTooLarge,
    415: UnsupportedMediaType,
}


class ProblemResponse(JSONResponse):
    media_type = PROBLEM_JSON


def problem_response(error: ProblemError, request: Request | None = None) -> Response:
    instance = request.url.path if request is not None else None
    body = error.to_problem(instance)
    if request is not None:
        request_id = request.scope.get("wealist.request_id")
        if request_id:
            body["requestId"] = request_id
    return ProblemResponse(body, status_code=error.status, headers=error.headers)


def validation_problem(exc: ValidationError, where: str) -> ValidationProblem:
    """A pydantic error as a 422 listing each field (by its wire name) and what is wrong with it."""
    errors: list[dict[str, Any]] = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(part) for part in (where, *err["loc"]) if part != "")
        errors.append({"field": loc, "message": err["msg"], "type": err["type"]})
    first = errors[0] if errors else {"field": where, "message": "invalid"}
    return ValidationProblem(f"{first['field']}: {first['message']}", errors=errors)


async def _problem(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ProblemError)
    return problem_response(exc, request)


async def _http_exception(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    cls = _BY_STATUS.get(exc.status_code)
    # Keep Starlette's headers: a 405 must say which methods are allowed (RFC 9110 section 15.5.6).
    headers = dict(exc.headers or {})
    detail = exc.detail if isinstance(exc.detail, str) and exc.detail else None
    error = cls(detail, headers=headers) if cls else None
    if error is None:
        error = ProblemError(exc.detail, headers=headers)
        error.status = exc.status_code  # type: ignore[misc]
    return problem_response(error, request)


async def _unhandled(request: Request, exc: Exception) -> Response:
    # Starlette answers an unhandled error outside every middleware, so the host middleware has already
    # reset the request id and will not add its header: restore both here, for the log line and the caller.
    request_id = request.scope.get("wealist.request_id")
    token = request_id_var.set(request_id)
    try:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
    finally:
        request_id_var.reset(token)
    headers = {"X-Request-ID": request_id} if request_id else None
    error = ProblemError("An unexpected error occurred; it has been logged.", headers=headers)
    return problem_response(error, request)


def exception_handlers() -> dict[Any, Any]:
    return {ProblemError: _problem, HTTPException: _http_exception, Exception: _unhandled}
