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

A method the provider marks :func:`cacheable` is answered for a few seconds from a cache in the calling
process, dropped by the provider's events (see :mod:`wealist_core._contract_cache`). A plugin asking, in its
``wealist_configure``, for a contract its manifest does not list in ``needs`` is a start-up error.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar, overload

import httpx
from pydantic import TypeAdapter, ValidationError
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wealist_core import errors
from wealist_core._contract_cache import MISSING, CacheGroup, ResultCache
from wealist_core.errors import PluginError, ProblemError, ServiceUnavailable, Unauthorized
from wealist_core.http.problems import validation_problem
from wealist_core.http.routing import read_json
from wealist_core.manifest import PluginManifest
from wealist_core.security import service_token_matches

__all__ = ["ContractInfo", "Contracts", "cacheable", "contract", "contract_info"]

P = TypeVar("P")
F = TypeVar("F", bound=Callable[..., Any])
_ATTR = "__wealist_contract__"
_CACHEABLE = "__wealist_cacheable__"
#: Every contract declared so far, by name: what a manifest's ``needs`` refers to.
_DECLARED: dict[str, type[Any]] = {}


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
        info = ContractInfo(provider, name or cls.__name__)
        setattr(cls, _ATTR, info)
        _DECLARED[info.key] = cls
        return cls

    return mark


@overload
def cacheable(method: F, /) -> F: ...
@overload
def cacheable(*, invalidated_by: Iterable[str]) -> Callable[[F], F]: ...


def cacheable(method: F | None = None, /, *, invalidated_by: Iterable[str] = ()) -> F | Callable[[F], F]:
    """Mark a contract method whose answers a remote caller may keep for a few seconds.

    ``@cacheable`` alone: any event of the provider drops them; ``@cacheable(invalidated_by=("user.member_*",
    "user.workspace_deleted"))``: only those (an exact type, or a prefix ending in ``*``). Mark only reads
    whose answer every change announces with an event; the provider's own process never caches.
    """
    patterns = tuple(invalidated_by)

    def mark(fn: F) -> F:
        setattr(fn, _CACHEABLE, patterns)
        return fn

    return mark(method) if method is not None else mark


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
    #: Event types (or ``prefix*``) that drop its cached answers, empty for any; None: never cached.
    cache: tuple[str, ...] | None = None


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
        cache = getattr(fn, _CACHEABLE, None)
        out[name] = _Method(name, params, defaults, TypeAdapter(hints.get("return", Any)), cache)
    _METHODS[proto] = out
    return out


def _problem_class(status: int) -> type[ProblemError]:
    for cls in vars(errors).values():
        if isinstance(cls, type) and issubclass(cls, ProblemError) and cls is not ProblemError:
            if cls.status == status:
                return cls
    return ProblemError


class _HttpContractClient:
    """Calls a contract's methods on the process that provides it; answers of cacheable methods come from
    ``cache`` while it holds them."""

    def __init__(
        self,
        proto: Callable[..., Any],
        base_url: str,
        token: str,
        client: httpx.AsyncClient,
        cache: ResultCache | None,
    ) -> None:
        self._info = contract_info(proto)
        self._base = f"{base_url}/internal/{self._info.provider}/{self._info.name}"
        self._headers = {"Authorization": f"Bearer {token}"}
        self._client = client
        self.cache = cache
        for method in _methods(proto).values():
            setattr(self, method.name, self._make(method))

    def _make(self, method: _Method) -> Callable[..., Any]:
        names = list(method.params)
        url = f"{self._base}/{method.name}"
        cache = self.cache if self.cache is not None and self.cache.caches(method.name) else None

        async def fetch(payload: dict[str, Any]) -> Any:
            try:
                response = await self._client.post(url, json={"args": payload}, headers=self._headers)
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
            return response.json()["result"]

        def arguments(args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
            bound = dict(zip(names, args, strict=False))
            bound.update(kwargs)
            return {
                name: method.params[name].dump_python(value, mode="json", by_alias=True)
                for name, value in bound.items()
            }

        async def call(*args: Any, **kwargs: Any) -> Any:
            payload = arguments(args, kwargs)
            return method.result.validate_python(await fetch(payload))

        async def cached_call(*args: Any, **kwargs: Any) -> Any:
            assert cache is not None
            payload = arguments(args, kwargs)
            key = json.dumps(payload, sort_keys=True, separators=(",", ":"))
            raw = cache.get(method.name, key)
            if raw is MISSING:
                generation = cache.generation
                raw = await fetch(payload)
                cache.put(method.name, key, raw, generation)
            # The wire form is kept and validated on every call: each caller gets objects of its own.
            return method.result.validate_python(raw)

        chosen = cached_call if cache is not None else call
        chosen.__name__ = method.name
        return chosen


@dataclass(frozen=True, slots=True)
class _Asker:
    plugin: str
    allowed: frozenset[str]


class Contracts:
    """The contracts of one process: those provided here, and clients for those provided elsewhere."""

    def __init__(self, *, peers: Mapping[str, str], service_token: str, cache_seconds: float = 0.0) -> None:
        self._peers = dict(peers)
        self._token = service_token
        self._local: dict[str, tuple[Callable[..., Any], Any]] = {}
        self._remote: dict[str, Any] = {}
        self._client: httpx.AsyncClient | None = None
        self._asker: _Asker | None = None
        self._cache_groups: dict[str, CacheGroup] = {}
        #: How long a remote caller keeps the answers of cacheable methods (0: not at all). The host sets
        #: it from ``WEALIST_CONTRACT_CACHE_SECONDS`` before the plugins are configured.
        self.cache_seconds = cache_seconds

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

    @contextlib.contextmanager
    def configuring(self, manifest: PluginManifest) -> Iterator[None]:
        """While the host calls one plugin's ``wealist_configure``: a contract it asks for must be listed in
        its manifest's ``needs`` (or be its own), so that start-up checks and ``wealist plugins`` tell the
        truth about what it uses."""
        previous = self._asker
        self._asker = _Asker(manifest.name, frozenset((*manifest.needs, *manifest.provides)))
        try:
            yield
        finally:
            self._asker = previous

    def get(self, proto: Callable[..., P]) -> P:
        info = contract_info(proto)
        asker = self._asker
        if asker is not None and info.key not in asker.allowed and info.provider != asker.plugin:
            raise PluginError(
                f"Plugin '{asker.plugin}' uses the contract {info.key}, but its manifest does not list it "
                f"in 'needs'; add {info.key!r} to the manifest's needs."
            )
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
            self._client = httpx.AsyncClient(
                timeout=httpx.Timeout(10.0, connect=3.0),
                # httpx keeps 20 idle connections by default: under more concurrent calls than that, every
                # call beyond them opened and closed a connection of its own.
                limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
            )
        policies = {m.name: m.cache for m in _methods(proto).values() if m.cache is not None}
        cache = None
        if policies and self.cache_seconds > 0:
            cache = ResultCache(info.provider, policies, self.cache_seconds)
            self._cache_group(info.provider).add(cache)
        client = _HttpContractClient(proto, base, self._token, self._client, cache)
        self._remote[info.key] = client
        return typing.cast(P, client)

    def _cache_group(self, provider: str) -> CacheGroup:
        group = self._cache_groups.get(provider)
        if group is None:
            group = self._cache_groups[provider] = CacheGroup(provider)
        return group

    def remote_cache_groups(self, needs: Iterable[str]) -> list[CacheGroup]:
        """The cache groups of the remote providers of ``needs`` (contract names: what this process's
        plugins declare), made now if no client exists yet: a guard may ask for its contract only when its
        first request comes, and its answers must still be invalidated. Empty when caching is off."""
        if self.cache_seconds <= 0:
            return []
        local = {contract_info(proto).provider for proto, _impl in self._local.values()}
        for name in needs:
            provider = name.split(".", 1)[0]
            proto = _DECLARED.get(name)
            cacheable = proto is not None and any(m.cache is not None for m in _methods(proto).values())
            if cacheable and provider not in local and provider in self._peers:
                self._cache_group(provider)
        return list(self._cache_groups.values())

    def cacheable_providers(self) -> list[str]:
        """The providers running here whose contracts have cacheable methods: their events must reach the
        caches of the other processes."""
        return sorted(
            {
                contract_info(proto).provider
                for proto, _impl in self._local.values()
                if any(m.cache is not None for m in _methods(proto).values())
            }
        )

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
