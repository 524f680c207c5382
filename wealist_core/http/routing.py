"""Typed HTTP routes: parse and validate, authenticate, call the handler, render.

A handler is a coroutine function whose parameters say what it needs, by name:

- ``request``: the Starlette ``Request``;
- ``principal``: the authenticated :class:`Principal` (the route answers 401 without one);
- ``body``: the JSON body validated by the route's ``body`` model;
- ``query``: the query string validated by the route's ``query`` model;
- any path parameter of the route, converted to the parameter's annotation (``task_id: uuid.UUID``).

It returns a model (rendered with the route's ``status_code``), ``None`` (204), or a ``Response``.
Everything the route knows also feeds the OpenAPI document, so the spec cannot drift from the code.
"""

from __future__ import annotations

import inspect
import json
import types
import typing
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from wealist_core.errors import BadRequest, PayloadTooLarge, Unauthorized, UnsupportedMediaType
from wealist_core.http.problems import validation_problem
from wealist_core.observability import plugin_var, user_var
from wealist_core.security import Principal

__all__ = ["ApiRoute", "Authenticator", "JSONModelResponse", "read_json", "render"]

Authenticator = Callable[[Request], Awaitable[Principal | None]]
_INJECTED = frozenset({"request", "principal", "body", "query"})


_MULTI = (list, tuple, set, frozenset, Sequence)


def _is_multi(annotation: Any) -> bool:
    """Whether a query field takes repeated parameters (``?label=a&label=b``), optional or not."""
    origin = typing.get_origin(annotation)
    if origin in _MULTI:
        return True
    # ``list[str] | None`` and ``Optional[list[str]]``: a union with a list member.
    union = origin in (typing.Union, types.UnionType)
    return union and any(_is_multi(arg) for arg in typing.get_args(annotation))


class JSONModelResponse(Response):
    media_type = "application/json"


def render(result: Any, *, status_code: int = 200, model: Any = None) -> Response:
    """Render a handler's result: a Response as is, None as 204, a model (or data validated by ``model``)
    as camelCase JSON."""
    if isinstance(result, Response):
        return result
    if result is None:
        return Response(status_code=204)
    if isinstance(result, BaseModel):
        return JSONModelResponse(
            result.__pydantic_serializer__.to_json(result, by_alias=True), status_code=status_code
        )
    adapter = TypeAdapter(model) if model is not None else TypeAdapter(Any)
    return JSONModelResponse(adapter.dump_json(result, by_alias=True), status_code=status_code)


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body.

    Refuses a wrong media type (415), an oversized body (413) or bad JSON (400).
    """
    content_type = request.headers.get("content-type", "")
    media = content_type.split(";", 1)[0].strip().lower()
    if media and media != "application/json" and not media.endswith("+json"):
        raise UnsupportedMediaType(f"Send the body as application/json, not {media}.")
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            if int(declared) > limit:
                raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes.")
        except ValueError:
            raise BadRequest("Content-Length is not a number.") from None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes.")
        chunks.append(chunk)
    raw = b"".join(chunks)
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.", code="MALFORMED_JSON") from None


class ApiRoute(Route):
    """A route with validated input and output, authentication and an OpenAPI description."""

    def __init__(
        self,
        path: str,
        handler: Callable[..., Awaitable[Any]],
        *,
        methods: Sequence[str] = ("GET",),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status_code: int = 200,
        auth: bool = True,
        summary: str | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        errors: Sequence[int] = (),
        name: str | None = None,
        max_body_bytes: int | None = None,
        include_in_schema: bool = True,
    ) -> None:
        hints = typing.get_type_hints(handler)
        if response is None:
            # The return annotation documents the answer when the route does not say otherwise.
            returned = hints.get("return")
            if (
                returned is not None
                and returned is not type(None)
                and not (isinstance(returned, type) and issubclass(returned, Response))
            ):
                response = returned
        self.handler = handler
        self.body_model = body
        self.query_model = query
        self.response_model = response
        self.status_code = status_code
        self.auth = auth
        self.summary = summary or (handler.__doc__ or "").strip().split("\n", 1)[0] or None
        self.description = description
        self.tags = tuple(tags)
        self.errors = tuple(errors)
        self.max_body_bytes = max_body_bytes
        self.plugin: str | None = None  # set by the host when it mounts the route
        self.authenticator: Authenticator | None = None  # set by the host
        self.default_max_body = 1_048_576  # set by the host from settings

        params = inspect.signature(handler).parameters
        self._wants = frozenset(params) & _INJECTED
        self._path_adapters: dict[str, TypeAdapter[Any]] = {}
        super().__init__(
            path,
            self._endpoint,
            methods=list(methods),
            name=name or handler.__name__,
            include_in_schema=include_in_schema,
        )
        for param in self.param_convertors:
            if param not in params:
                raise TypeError(
                    f"{handler.__qualname__}: path parameter {param!r} is not a handler parameter"
                )
            self._path_adapters[param] = TypeAdapter(hints.get(param, str))
        unknown = set(params) - _INJECTED - set(self._path_adapters)
        if unknown:
            raise TypeError(
                f"{handler.__qualname__}: parameters {sorted(unknown)} are neither injected nor in the path"
            )
        if "body" in self._wants and body is None:
            raise TypeError(f"{handler.__qualname__} takes a body but the route has no body model")
        if "query" in self._wants and query is None:
            raise TypeError(f"{handler.__qualname__} takes a query but the route has no query model")
        self._query_lists = (
            {(field.alias or key) for key, field in query.model_fields.items() if _is_multi(field.annotation)}
            if query is not None
            else set()
        )

    async def _endpoint(self, request: Request) -> Response:
        kwargs: dict[str, Any] = {}
        plugin_var.set(
            self.plugin
        )  # log lines of this request name the plugin (reset by the host middleware)
        if self.auth or "principal" in self._wants:
            principal = await self.authenticator(request) if self.authenticator else None
            if principal is None:
                if self.auth:
                    raise Unauthorized("Sign in first: send Authorization: Bearer <access token>.")
            else:
                user_var.set(principal.id)
            request.scope["wealist.principal"] = principal
            if "principal" in self._wants:
                kwargs["principal"] = principal
        for name, adapter in self._path_adapters.items():
            try:
                kwargs[name] = adapter.validate_python(request.path_params[name])
            except ValidationError as exc:
                raise validation_problem(exc, f"path.{name}") from None
        if self.query_model is not None:
            raw: dict[str, Any] = {}
            for key, value in request.query_params.multi_items():
                if key in self._query_lists:
                    raw.setdefault(key, []).append(value)
                else:
                    raw[key] = value
            try:
                query = self.query_model.model_validate(raw)
            except ValidationError as exc:
                raise validation_problem(exc, "query") from None
            if "query" in self._wants:
                kwargs["query"] = query
        if self.body_model is not None:
            data = await read_json(request, self.max_body_bytes or self.default_max_body)
            if data is None:
                data = {}
            try:
                kwargs["body"] = self.body_model.model_validate(data)
            except ValidationError as exc:
                raise validation_problem(exc, "body") from None
        if "request" in self._wants:
            kwargs["request"] = request
        result = await self.handler(**kwargs)
        return render(result, status_code=self.status_code, model=self.response_model)
