"""Typed HTTP routes: parse and validate, authenticate, inject, call the handler, render.

A handler's signature is the route's declaration. Each parameter says what it needs:

- a path parameter of the route, by name, converted to its annotation; ``{taskId}`` with
  ``taskId: uuid.UUID`` becomes Starlette's ``{taskId:uuid}`` (and ``int`` becomes ``:int``);
- ``body: Model``: the JSON body validated by ``Model``; ``query: Model``: the query string;
- ``request: Request``; ``principal: Principal`` (401 without one; ``Principal | None`` for optional);
- ``uow: UnitOfWork``: the request's unit of work on the plugin's database, opened by the host: read-only
  for GET and HEAD, a transaction otherwise, committed after the handler returns and rolled back if it
  raises (the response is sent after the commit);
- ``Annotated[T, dependency]``: a value a :class:`~wealist_core.http.Dependency` resolves, such as the
  caller's user id (``CallerId``) or a guard (the user plugin's ``MemberOf``); a dependency that can refuse
  declares its error statuses, which the OpenAPI document lists.

The return annotation is the response model; ``-> None`` answers 204. A handler returns a model, ``None``
or a ``Response``. Everything the route knows also feeds the OpenAPI document, so the spec cannot drift.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
import types
import typing
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from pydantic import BaseModel, TypeAdapter, ValidationError
from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from wealist_core.errors import (
    BadRequest,
    PayloadTooLarge,
    PluginError,
    ProblemError,
    Unauthorized,
    UnsupportedMediaType,
    ValidationProblem,
)
from wealist_core.http.dependencies import Call, Dependency
from wealist_core.http.models import INPUT_CONTEXT, refused_text
from wealist_core.http.problems import validation_problem
from wealist_core.observability import plugin_var, user_var
from wealist_core.ports import UnitOfWork
from wealist_core.security import Principal

__all__ = ["ApiRoute", "Authenticator", "JSONModelResponse", "read_json", "render"]

Authenticator = Callable[[Request], Awaitable[Principal | None]]
_INJECTED = frozenset({"request", "principal", "body", "query"})
_READING = frozenset({"GET", "HEAD"})
_CONVERTERS: dict[Any, str] = {uuid.UUID: "uuid", int: "int"}
_PARAM = re.compile(r"{([A-Za-z_][A-Za-z0-9_]*)}")

if typing.TYPE_CHECKING:
    from wealist_core.container import Container


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


MAX_JSON_DEPTH = 32
"""How deeply a request's JSON may nest arrays and objects; deeper is 400 ``MALFORMED_JSON``."""

BODY_READ_TIMEOUT = 30.0
"""Seconds a client has to send the whole body (set by the host from ``WEALIST_BODY_READ_TIMEOUT``); a body
that stalls (shorter than its ``Content-Length``) is answered 408 ``REQUEST_TIMEOUT`` with the connection
closed."""


class RequestTimeout(ProblemError):
    status, default_code, title = 408, "REQUEST_TIMEOUT", "Request timeout"


def _too_deep(value: Any, limit: int) -> bool:
    """Whether ``value`` nests lists and dicts more than ``limit`` levels (iteratively, no recursion)."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body.

    Refuses a wrong media type (415), an oversized body (413), a body not sent in time (408), or bad or
    too deeply nested JSON (400 ``MALFORMED_JSON``).
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
    try:
        async with asyncio.timeout(BODY_READ_TIMEOUT):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise PayloadTooLarge(f"The body is larger than the limit of {limit} bytes.")
                chunks.append(chunk)
    except TimeoutError:
        raise RequestTimeout(
            f"The body was not received within {BODY_READ_TIMEOUT:g} seconds.",
            headers={"Connection": "close"},
        ) from None
    raw = b"".join(chunks)
    if not raw:
        return None
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"The body is not valid JSON: {exc}.", code="MALFORMED_JSON") from None
    except RecursionError:
        data = None
        too_deep = True
    else:
        too_deep = _too_deep(data, MAX_JSON_DEPTH)
    if too_deep:
        raise BadRequest(
            f"The body nests arrays and objects more than {MAX_JSON_DEPTH} levels deep.",
            code="MALFORMED_JSON",
        )
    return data


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    """``X | None`` -> ``(X, True)``; anything else -> ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(typing.get_args(annotation)) == 2:
            return args[0], True
    return annotation, False


def _dependency_of(annotation: Any) -> tuple[Any, Dependency | None]:
    """``Annotated[T, dep]`` -> ``(T, dep)`` when one of its metadata is a :class:`Dependency`."""
    if typing.get_origin(annotation) is typing.Annotated:
        base, *extras = typing.get_args(annotation)
        for extra in extras:
            if isinstance(extra, Dependency):
                return base, extra
    return annotation, None


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _with_converters(path: str, hints: dict[str, Any]) -> str:
    """``{taskId}`` -> ``{taskId:uuid}`` when the handler annotates ``taskId: uuid.UUID``."""

    def convert(match: re.Match[str]) -> str:
        name = match.group(1)
        converter = _CONVERTERS.get(_strip_optional(hints.get(name, str))[0])
        return f"{{{name}:{converter}}}" if converter else match.group(0)

    return _PARAM.sub(convert, path)


class ApiRoute(Route):
    """A route with validated input and output, authentication, injection and an OpenAPI description.

    Declared by its handler's signature (see the module's docstring); the keyword arguments override or
    add what a signature cannot say (``status_code``, ``summary``, ``errors``, ``auth=False``). Controllers
    (:class:`~wealist_core.http.Controller`) build these from decorated methods.
    """

    def __init__(
        self,
        path: str,
        handler: Callable[..., Awaitable[Any]],
        *,
        methods: Sequence[str] = ("GET",),
        body: type[BaseModel] | None = None,
        query: type[BaseModel] | None = None,
        response: Any = None,
        status_code: int | None = None,
        auth: bool = True,
        summary: str | None = None,
        description: str | None = None,
        tags: Sequence[str] = (),
        errors: Sequence[int] = (),
        name: str | None = None,
        max_body_bytes: int | None = None,
        include_in_schema: bool = True,
        headers: dict[str, str] | None = None,
    ) -> None:
        hints = typing.get_type_hints(handler, include_extras=True)
        returned = hints.get("return")
        if response is None and returned is not None and returned is not type(None):
            # The return annotation documents the answer when the route does not say otherwise.
            if not (isinstance(returned, type) and issubclass(returned, Response)):
                response = returned
        if status_code is None:
            status_code = 204 if returned is type(None) and response is None else 200
        params = inspect.signature(handler).parameters
        path = _with_converters(path, hints)

        self.handler = handler
        self.response_model = response
        self.status_code = status_code
        self.auth = auth
        self.summary = summary or (handler.__doc__ or "").strip().split("\n", 1)[0] or None
        self.description = description
        self.tags = tuple(tags)
        self.max_body_bytes = max_body_bytes
        self.headers = dict(headers or {})
        self.plugin: str | None = None  # set by the host when it mounts the route
        self.authenticator: Authenticator | None = None  # set by the host
        self.container: Container | None = None  # set by the host
        self.default_max_body = 1_048_576  # set by the host from settings

        super().__init__(
            path,
            self._endpoint,
            methods=list(methods),
            name=name or handler.__name__,
            include_in_schema=include_in_schema,
        )
        #: The path as OpenAPI and the metrics name it: converters left out.
        self.template = re.sub(r":[^}]+}", "}", path)
        self._path_adapters: dict[str, TypeAdapter[Any]] = {}
        self._dependencies: dict[str, Dependency] = {}
        self._request_param: str | None = None
        self._principal_param: str | None = None
        self._principal_optional = False
        self._uow_param: str | None = None
        self._query_param: str | None = None
        self._body_param: str | None = None
        codes = set(errors)
        unknown: list[str] = []
        for pname in params:
            annotation, dependency = _dependency_of(hints.get(pname, Any))
            plain, optional = _strip_optional(annotation)
            if pname in self.param_convertors:
                self._path_adapters[pname] = TypeAdapter(annotation)
            elif dependency is not None:
                self._dependencies[pname] = dependency
                codes.update(dependency.errors)
            elif pname == "body":
                body = body or (plain if _is_model(plain) else None)
                self._body_param = pname
            elif pname == "query":
                query = query or (plain if _is_model(plain) else None)
                self._query_param = pname
            elif pname == "request" or (isinstance(plain, type) and issubclass(plain, HTTPConnection)):
                self._request_param = pname
            elif pname == "principal" or plain is Principal:
                self._principal_param = pname
                self._principal_optional = optional
            elif isinstance(plain, type) and issubclass(plain, UnitOfWork):
                self._uow_param = pname
            else:
                unknown.append(pname)
        for param in self.param_convertors:
            if param not in params:
                raise TypeError(
                    f"{handler.__qualname__}: path parameter {param!r} is not a handler parameter"
                )
        if unknown:
            raise TypeError(
                f"{handler.__qualname__}: parameters {sorted(unknown)} are neither injected nor in the path"
            )
        if self._body_param and body is None:
            raise TypeError(f"{handler.__qualname__} takes a body but the route has no body model")
        if self._query_param and query is None:
            raise TypeError(f"{handler.__qualname__} takes a query but the route has no query model")
        self.body_model = body
        self.query_model = query
        self._needs_principal = self.auth or any(d.needs_principal for d in self._dependencies.values())
        if self._principal_param and not self._principal_optional:
            self._needs_principal = True
        if self._needs_principal and not self.auth and not self._principal_optional:
            self.auth = True
        self.errors = tuple(sorted(codes))
        self._query_lists = (
            {(field.alias or key) for key, field in query.model_fields.items() if _is_multi(field.annotation)}
            if query is not None
            else set()
        )

    @property
    def wants_unit_of_work(self) -> bool:
        return self._uow_param is not None

    def bind(self, container: Container) -> None:
        """Called by the host when it mounts the route: the container its injected values come from."""
        self.container = container
        if self._uow_param is not None and not container.has_port(self.plugin or "", "database"):
            raise PluginError(
                f"Route {self.path} of plugin '{self.plugin}' asks for a unit of work, but the plugin's "
                "manifest does not list 'database' in its ports."
            )

    async def _endpoint(self, request: Request) -> Response:
        kwargs: dict[str, Any] = {}
        plugin_var.set(
            self.plugin
        )  # log lines of this request name the plugin (reset by the host middleware)
        principal: Principal | None = None
        if self._needs_principal or self._principal_param:
            principal = await self.authenticator(request) if self.authenticator else None
            if principal is None:
                if self.auth:
                    raise Unauthorized("Sign in first: send Authorization: Bearer <access token>.")
            else:
                user_var.set(principal.id)
            request.scope["wealist.principal"] = principal
            if self._principal_param:
                kwargs[self._principal_param] = principal
        path: dict[str, Any] = {}
        for name, adapter in self._path_adapters.items():
            try:
                path[name] = adapter.validate_python(request.path_params[name])
            except ValidationError as exc:
                raise validation_problem(exc, f"path.{name}") from None
            if isinstance(path[name], str) and refused_text(path[name]):
                raise ValidationProblem(
                    f"path.{name}: holds a control character, which is refused.",
                    errors=[
                        {"field": f"path.{name}", "message": "control character", "type": "control_character"}
                    ],
                )
        kwargs.update(path)
        query: BaseModel | None = None
        if self.query_model is not None:
            raw: dict[str, Any] = {}
            for key, value in request.query_params.multi_items():
                if key in self._query_lists:
                    raw.setdefault(key, []).append(value)
                else:
                    raw[key] = value
            try:
                query = self.query_model.model_validate(raw, context={INPUT_CONTEXT: True})
            except ValidationError as exc:
                raise validation_problem(exc, "query") from None
            if self._query_param:
                kwargs[self._query_param] = query
        body: BaseModel | None = None
        if self.body_model is not None:
            data = await read_json(request, self.max_body_bytes or self.default_max_body)
            if data is None:
                data = {}
            try:
                body = self.body_model.model_validate(data, context={INPUT_CONTEXT: True})
            except ValidationError as exc:
                raise validation_problem(exc, "body") from None
            if self._body_param:
                kwargs[self._body_param] = body
        if self._request_param:
            kwargs[self._request_param] = request
        if self._dependencies:
            call = Call(request, self, principal, path, query, body)
            for name, dependency in self._dependencies.items():
                kwargs[name] = await dependency.resolve(call)
        if self._uow_param is None:
            result = await self.handler(**kwargs)
        else:
            assert self.container is not None, "the host binds every mounted route"
            database = self.container.database(self.plugin or "")
            opened = (
                database.reading_unit_of_work() if request.method in _READING else database.unit_of_work()
            )
            async with opened as uow:
                kwargs[self._uow_param] = uow
                result = await self.handler(**kwargs)
        response = render(result, status_code=self.status_code, model=self.response_model)
        if self.headers:
            response.headers.update(self.headers)
        return response
