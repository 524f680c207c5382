"""Values injected into handlers by annotation: ``Annotated[T, dependency]``.

A :class:`Dependency` resolves one value per request from a :class:`Call` (the request, the principal,
the validated path, query and body, the container). A dependency that can refuse (a guard) raises a
problem and lists its statuses in ``errors``, so the OpenAPI document names them without any route
restating them. :data:`CallerId` is the caller's user id; the user plugin's contract offers the workspace
guards (``MemberOf``, ``ManagerOf``) built on the same mechanism.
"""

from __future__ import annotations

import abc
import uuid
from collections.abc import Awaitable, Callable, Hashable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import BaseModel
from starlette.requests import Request

from wealist_core.errors import Forbidden, Unauthorized
from wealist_core.security import Principal

if TYPE_CHECKING:
    from wealist_core.container import Container
    from wealist_core.http.routing import ApiRoute

__all__ = ["Call", "CallerId", "Dependency", "caller_id"]

T = TypeVar("T")
_MISSING = object()


class Call:
    """What a dependency sees of one request. ``memo`` lives as long as the request: one request never
    asks the same question twice (two guards on one route, a guard and a service)."""

    __slots__ = ("body", "path", "principal", "query", "request", "route")

    def __init__(
        self,
        request: Request,
        route: ApiRoute,
        principal: Principal | None,
        path: dict[str, Any],
        query: BaseModel | None,
        body: BaseModel | None,
    ) -> None:
        self.request = request
        self.route = route
        self.principal = principal
        self.path = path
        self.query = query
        self.body = body

    @property
    def plugin(self) -> str:
        return self.route.plugin or ""

    @property
    def container(self) -> Container:
        if self.route.container is None:
            raise RuntimeError(f"route {self.route.path} is not mounted by a host")
        return self.route.container

    @property
    def memo(self) -> dict[Hashable, Any]:
        memo: dict[Hashable, Any] = self.request.scope.setdefault("wealist.memo", {})
        return memo

    async def remember(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        """``compute()`` once per request for ``key``; later calls get the first answer."""
        memo = self.memo
        value = memo.get(key, _MISSING)
        if value is _MISSING:
            value = memo[key] = await compute()
        return value  # type: ignore[no-any-return]

    def find(self, wire_name: str) -> Any:
        """The value named ``wire_name`` (``workspaceId``) in the path, else the query, else the body;
        None when the request does not carry it."""
        if wire_name in self.path:
            return self.path[wire_name]
        for model in (self.query, self.body):
            if model is None:
                continue
            for field, info in type(model).model_fields.items():
                if field == wire_name or info.alias == wire_name:
                    return getattr(model, field)
        return None

    def user_id(self) -> uuid.UUID:
        """The caller's user id: 401 without a user, 403 for a service principal."""
        return user_id_of(self.principal)


def user_id_of(principal: Principal | None) -> uuid.UUID:
    """The user a principal speaks for; no principal is a 401, a service principal a 403."""
    if principal is None:
        raise Unauthorized("Sign in first: send Authorization: Bearer <access token>.")
    if principal.is_service:
        raise Forbidden("These routes serve people, not services.", code="USER_REQUIRED")
    try:
        return uuid.UUID(principal.id)
    except ValueError:
        raise Unauthorized("The token's subject is not a Wealist user.", code="UNKNOWN_USER") from None


class Dependency(abc.ABC):
    """A value resolved per request for a handler parameter annotated ``Annotated[T, dependency]``."""

    #: Statuses this dependency may answer instead of the handler (listed in the OpenAPI document).
    errors: tuple[int, ...] = ()
    #: Whether it needs the caller: the route then authenticates (401 without a principal).
    needs_principal: bool = False

    @abc.abstractmethod
    async def resolve(self, call: Call) -> Any:
        """The value, or raise a ``ProblemError`` to refuse the request."""


class _CallerId(Dependency):
    errors = (401, 403)
    needs_principal = True

    async def resolve(self, call: Call) -> uuid.UUID:
        return call.user_id()

    def __repr__(self) -> str:
        return "caller_id"


caller_id: Dependency = _CallerId()

#: The signed-in user's id: ``async def get_me(self, me: CallerId) -> UserOut``.
CallerId = Annotated[uuid.UUID, caller_id]
