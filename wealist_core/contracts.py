"""Contracts: how one plugin calls another, in process or over HTTP, without knowing which.

A contract is a ``typing.Protocol`` of async methods in the provider's ``contract.py``, decorated with
:func:`contract`. The provider gives its implementation to the host in ``wealist_configure``::

    container.contracts.provide(Directory, self.directory)

and a consumer asks for it::

    directory = container.contracts.get(Directory)

When the provider runs in the same process the consumer gets the provider's object itself. When it runs
elsewhere (``WEALIST_PEERS__USER=http://user:8080``) the consumer gets a client generated from the Protocol,
which POSTs ``{"args": {...}}`` to ``/internal/<plugin>/<Contract>/<method>`` with the service token and
decodes ``{"result": ...}``; arguments and results are converted with pydantic from the annotations, and a
``ProblemError`` raised by the provider is raised again, the same class with the same code, in the caller.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wealist_core import errors
from wealist_core.errors import PluginError, ProblemError, ServiceUnavailable, Unauthorized
from wealist_core.http.problems import validation_problem
from wealist_core.http.routing import read_json
from wealist_core.security import service_token_matches

__all__ = ["ContractInfo", "Contracts", "contract", "contract_info"]

P = TypeVar("P")
_ATTR = "__wealist_contract__"


@dataclass(frozen=True, slots=True)
class ContractInfo:
    provider: str
    name: str

    @property
    def key(self) -> str:
        return f"{self.provider}.{self.name}"


def contract(provider: str, name: str | None = None) -> Callable[[type[P]], type[P]]:
    """Mark a Protocol as the contract ``<provider>.<name>`` (name defaults to the class name)."""

    def mark(cls: type[P]) -> type[P]:
        setattr(cls, _ATTR, ContractInfo(provider, name or cls.__name__))
        return cls

    return mark


def contract_info(proto: Any) -> ContractInfo:
    info = getattr(proto, _ATTR, None)
    if not isinstance(info, ContractInfo):
        raise TypeError(f"{proto!r} is not a contract: decorate it with @contract('<plugin>')")
    return info


@dataclass(frozen=True)
class _Method:
    name: str
    params: Mapping[str, TypeAdapter[Any]]
    defaults: Mapping[str, Any]
    result: TypeAdapter[Any]


_METHODS: dict[Callable[..., Any], dict[str, _Method]] = {}


# ``proto`` is the Protocol class, typed as Callable for the reason given at Contracts.provide.
def _methods(proto: Callable[..., Any]) -> dict[str, _Method]:
    cached = _METHODS.get(proto)
    if cached is not None:
        return cached
    out: dict[str, _Method] = {}
    for name, fn in vars(proto).items():
        if name.startswith("_") or not callable(fn):
            continue
        if not inspect.iscoroutinefunction(fn):
            raise TypeError(
                f"{proto.__name__}.{name} must be 'async def': contract calls may cross processes"
            )
        hints = typing.get_type_hints(fn)
        sig = inspect.signature(fn)
        params: dict[str, TypeAdapter[Any]] = {}
        defaults: dict[str, Any] = {}
        for pname, param in list(sig.parameters.items())[1:]:
            params[pname] = TypeAdapter(hints.get(pname, Any))
            if param.default is not inspect.Parameter.empty:
                defaults[pname] = param.default
        out[name] = _Method(name, params, defaults, TypeAdapter(hints.get("return", Any)))
    _METHODS[proto] = out
    return out


def _problem_class(status: int) -> type[ProblemError]:
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, ProblemError) and cls is not ProblemError:
            if cls.status == status:
                return cls
    return ProblemError


class _HttpContractClient:
    """Calls a contract's methods on the process that provides it."""

    def __init__(
        self, proto: Callable[..., Any], base_url: str, token: str, client: httpx.AsyncClient
    ) -> None:
        self._info = contract_info(proto)
        self._base = f"{base_url}/internal/{self._info.provider}/{self._info.name}"
        self._token = token
        self._client = client
        for method in _methods(proto).values():
            setattr(self, method.name, self._make(method))

    def _make(self, method: _Method) -> Callable[..., Any]:
        names = list(method.params)

        async def call(*args: Any, **kwargs: Any) -> Any:
            bound = dict(zip(names, args, strict=False))
            bound.update(kwargs)
            payload = {
                name: method.params[name].dump_python(value, mode="json", by_alias=True)
                for name, value in bound.items()
            }
            url = f"{self._base}/{method.name}"
            try:
                response = await self._client.post(
                    url, json={"args": payload}, headers={"Authorization": f"Bearer {self._token}"}
                )
            except httpx.HTTPError as exc:
                raise ServiceUnavailable(
                    f"The {self._info.provider} service cannot be reached: {exc.__class__.__name__}.",
                    code="PEER_UNAVAILABLE",
                ) from exc
            if response.status_code >= 400:
                try:
                    problem = response.json()
                except ValueError:
                    problem = {}
                cls = _problem_class(response.status_code)
                error = cls(problem.get("detail"), code=problem.get("code"))
                error.status = response.status_code  # type: ignore[misc]
                raise error
            return method.result.validate_python(response.json()["result"])

        call.__name__ = method.name
        return call


class Contracts:
    """The contracts of one process: those provided here, and clients for those provided elsewhere."""

    def __init__(self, *, peers: Mapping[str, str], service_token: str) -> None:
        self._peers = dict(peers)
        self._token = service_token
        self._local: dict[str, tuple[Callable[..., Any], Any]] = {}
        self._remote: dict[str, Any] = {}
        self._client: httpx.AsyncClient | None = None

    # Typed as Callable rather than type[P]: mypy refuses a Protocol class where type[P] is expected.
    def provide(self, proto: Callable[..., P], implementation: P) -> None:
        info = contract_info(proto)
        missing = [m for m in _methods(proto) if not callable(getattr(implementation, m, None))]
        if missing:
            raise PluginError(
                f"Plugin '{info.provider}' provides {info.key} with an object lacking {', '.join(missing)}; "
                "implement every method of the contract."
            )
        self._local[info.key] = (proto, implementation)

    def provided(self) -> list[str]:
        return sorted(self._local)

    def is_local(self, proto: Any) -> bool:
        return contract_info(proto).key in self._local

    def get(self, proto: Callable[..., P]) -> P:
        info = contract_info(proto)
        local = self._local.get(info.key)
        if local is not None:
            return typing.cast(P, local[1])
        remote = self._remote.get(info.key)
        if remote is not None:
            return typing.cast(P, remote)
        base = self._peers.get(info.provider)
        if base is None:
            raise PluginError(
                f"The contract {info.key} is not provided in this process and WEALIST_PEERS__"
                f"{info.provider.upper()} is not set; run '{info.provider}' here or point the setting at it."
            )
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(10.0, connect=3.0))
        client = _HttpContractClient(proto, base, self._token, self._client)
        self._remote[info.key] = client
        return typing.cast(P, client)

    async def close(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        self._remote.clear()

    # ------------------------------------------------------------------------------------- the server side

    def routes(self, max_body_bytes: int) -> list[Route]:
        """``POST /internal/<plugin>/<Contract>/<method>`` for every contract provided in this process."""
        routes: list[Route] = []
        for key, (proto, impl) in sorted(self._local.items()):
            info = contract_info(proto)
            for method in _methods(proto).values():
                routes.append(
                    Route(
                        f"/internal/{info.provider}/{info.name}/{method.name}",
                        self._endpoint(key, impl, method, max_body_bytes),
                        methods=["POST"],
                        name=f"internal:{key}.{method.name}",
                        include_in_schema=False,
                    )
                )
        return routes

    def _endpoint(self, key: str, impl: Any, method: _Method, limit: int) -> Callable[[Request], Any]:
        target = getattr(impl, method.name)

        async def endpoint(request: Request) -> Response:
            auth = request.headers.get("authorization", "")
            scheme, _, token = auth.partition(" ")
            if scheme.lower() != "bearer" or not service_token_matches(token, self._token):
                raise Unauthorized(
                    "Internal calls need the deployment's service token.", code="SERVICE_TOKEN_INVALID"
                )
            data = await read_json(request, limit) or {}
            raw_args = data.get("args", {}) if isinstance(data, dict) else {}
            kwargs: dict[str, Any] = {}
            for name, adapter in method.params.items():
                if name not in raw_args:
                    if name in method.defaults:
                        continue
                    raise errors.ValidationProblem(f"{key}.{method.name}: argument {name!r} is missing.")
                try:
                    kwargs[name] = adapter.validate_python(raw_args[name])
                except ValidationError as exc:
                    raise validation_problem(exc, f"args.{name}") from None
            result = await target(**kwargs)
            return JSONResponse({"result": method.result.dump_python(result, mode="json", by_alias=True)})

        return endpoint
