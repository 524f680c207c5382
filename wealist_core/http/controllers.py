"""Controllers: a group of handlers sharing a path prefix and tags, each declared once by its signature.

::

    class Workspaces(Controller):
        path = "/api/workspaces"
        tags = ("workspaces",)

        def __init__(self, service: WorkspaceService) -> None:
            self.service = service

        @post("", status=201)
        async def create_workspace(self, me: CallerId, body: WorkspaceIn, uow: UnitOfWork) -> WorkspaceOut:
            \"\"\"Create a workspace; I become its owner.\"\"\"
            return await self.service.create(uow, me, body)

        @get("/{workspaceId}")
        async def get_workspace(self, member: MemberOf, uow: UnitOfWork) -> WorkspaceOut: ...

    routes = Workspaces(service).routes()

The decorators only attach metadata to the function (no registry anywhere); :meth:`Controller.routes`
reads it from the instance's methods, in the order they are defined, and builds :class:`ApiRoute` objects.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from wealist_core.http.routing import ApiRoute

__all__ = ["Controller", "RouteInfo", "delete", "get", "patch", "post", "put", "route"]

F = TypeVar("F", bound=Callable[..., Any])
_ATTRIBUTE = "__wealist_route__"


@dataclass(frozen=True, slots=True)
class RouteInfo:
    """What a decorator says about a handler beyond its signature."""

    methods: tuple[str, ...]
    path: str = ""
    status: int | None = None
    auth: bool | None = None
    summary: str | None = None
    description: str | None = None
    name: str | None = None
    errors: tuple[int, ...] = ()
    max_body_bytes: int | None = None
    include_in_schema: bool = True
    headers: tuple[tuple[str, str], ...] = ()


def route(
    *methods: str,
    path: str = "",
    status: int | None = None,
    auth: bool | None = None,
    summary: str | None = None,
    description: str | None = None,
    name: str | None = None,
    errors: Sequence[int] = (),
    max_body_bytes: int | None = None,
    include_in_schema: bool = True,
    headers: dict[str, str] | None = None,
) -> Callable[[F], F]:
    """Mark a controller method as the handler of ``methods`` on ``path`` (relative to the controller's).

    ``status`` is the success status (default 200, or 204 for ``-> None``); ``auth=False`` serves callers
    without a token; ``errors`` adds statuses the handler itself may answer (a dependency declares its own);
    ``headers`` are added to every successful answer (``Cache-Control``).
    """
    info = RouteInfo(
        methods=tuple(m.upper() for m in methods),
        path=path,
        status=status,
        auth=auth,
        summary=summary,
        description=description,
        name=name,
        errors=tuple(errors),
        max_body_bytes=max_body_bytes,
        include_in_schema=include_in_schema,
        headers=tuple((headers or {}).items()),
    )

    def mark(function: F) -> F:
        setattr(function, _ATTRIBUTE, info)
        return function

    return mark


def _method(method: str) -> Callable[..., Callable[[F], F]]:
    def decorator(path: str = "", **options: Any) -> Callable[[F], F]:
        return route(method, path=path, **options)

    decorator.__name__ = method.lower()
    decorator.__doc__ = f"Mark a controller method as the {method} handler of ``path``; see :func:`route`."
    return decorator


get = _method("GET")
post = _method("POST")
put = _method("PUT")
patch = _method("PATCH")
delete = _method("DELETE")


class Controller:
    """A group of routes: ``path`` is the prefix of each handler's path, ``tags`` their OpenAPI tags,
    ``auth`` whether they need a signed-in caller unless a handler says otherwise."""

    path: ClassVar[str] = ""
    tags: ClassVar[Sequence[str]] = ()
    auth: ClassVar[bool] = True

    def routes(self) -> list[ApiRoute]:
        """The routes of every decorated method, in definition order (base classes first)."""
        seen: set[str] = set()
        out: list[ApiRoute] = []
        for klass in reversed(type(self).__mro__):
            for attribute, member in vars(klass).items():
                info = getattr(member, _ATTRIBUTE, None)
                if not isinstance(info, RouteInfo) or attribute in seen:
                    continue
                seen.add(attribute)
                handler = getattr(self, attribute)
                # A subclass that decorates an inherited handler again declares its route anew (the
                # place in the order stays the base's); an undecorated override keeps the base's route.
                own = getattr(handler, _ATTRIBUTE, None)
                if isinstance(own, RouteInfo):
                    info = own
                out.append(
                    ApiRoute(
                        self.path + info.path,
                        handler,
                        methods=info.methods,
                        status_code=info.status,
                        auth=self.auth if info.auth is None else info.auth,
                        summary=info.summary,
                        description=info.description,
                        tags=tuple(self.tags),
                        errors=info.errors,
                        name=info.name,
                        max_body_bytes=info.max_body_bytes,
                        include_in_schema=info.include_in_schema,
                        headers=dict(info.headers),
                    )
                )
        return out


def routes_of(*controllers: Controller) -> list[ApiRoute]:
    """The routes of several controllers, in order: what ``wealist_register_routes`` returns."""
    return [r for controller in controllers for r in controller.routes()]


__all__ += ["routes_of"]
