"""The container: ports bound to the adapters the settings chose, shared where the URLs are the same.

Each plugin asks for the ports it declared in its manifest (``container.database("board")``). Two plugins
whose settings give the same URL share one adapter instance (one engine, one Redis pool); a plugin with
its own URL (``WEALIST_BOARD__DATABASE_URL``) gets its own. Every instance is a dependency-injector
singleton provider, opened and closed by the host's one lifespan, in order and in reverse.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any, TypeVar, cast

from dependency_injector import containers, providers

from wealist_core.adapters import AdapterContext, AdapterRegistry
from wealist_core.contracts import Contracts
from wealist_core.errors import PluginError
from wealist_core.manifest import PluginManifest
from wealist_core.ports import BlobStore, Database, EventBus, KeyValue, Mailer, MediaRooms, PubSub, Resource
from wealist_core.settings import PORT_SETTINGS, Settings, mask_url

__all__ = ["Container"]

log = logging.getLogger("wealist.container")
R = TypeVar("R", bound=Resource)

#: Ports that need no URL to be usable: an empty media URL means "video is not configured".
_OPTIONAL_PORTS = frozenset({"media"})


class Container(containers.DynamicContainer):
    """Ports per plugin, contracts, and the lifecycle of every adapter instance."""

    def __init__(
        self, settings: Settings, registry: AdapterRegistry, manifests: Iterable[PluginManifest]
    ) -> None:
        super().__init__()
        self.settings = settings
        self.contracts = Contracts(peers=settings.peers, service_token=settings.service_token)
        self._registry = registry
        self._by_url: dict[tuple[str, str], str] = {}  # (port, url) -> provider name
        self._ports: dict[tuple[str, str], str] = {}  # (plugin, port) -> provider name
        self._started: list[Resource] = []
        self._declared: set[tuple[str, str]] = set()  # (plugin, port) its manifest lists
        for manifest in manifests:
            ports = set(manifest.ports)
            if "database" in ports:
                ports.add("eventbus")  # the outbox relays to the event bus
            for port in sorted(ports):
                if port not in PORT_SETTINGS:
                    raise PluginError(
                        f"Plugin '{manifest.name}' lists an unknown port {port!r}; ports are "
                        f"{', '.join(sorted(PORT_SETTINGS))}."
                    )
                self._declared.add((manifest.name, port))
                self._bind(manifest.name, port)

    def _bind(self, plugin: str, port: str) -> None:
        url = self.settings.url_for(port, plugin)
        setting = self.settings.setting_name(port, plugin)
        if not url and port in _OPTIONAL_PORTS:
            return
        spec = self._registry.resolve(port, url, setting=setting, plugin=plugin)
        key = (port, url)
        name = self._by_url.get(key)
        if name is None:
            name = f"{port}_{len(self._by_url)}"
            context = AdapterContext(url=url, settings=self.settings, setting=setting)
            self.set_provider(name, providers.Singleton(spec.factory, context))
            self._by_url[key] = name
            log.debug("bound %s to %s (%s)", port, spec.name, mask_url(url))
        self._ports[(plugin, port)] = name

    def _get(self, plugin: str, port: str, kind: type[R]) -> R:
        name = self._ports.get((plugin, port))
        if name is None:
            if (plugin, port) in self._declared:  # an optional port left without a URL
                setting = self.settings.setting_name(port, plugin)
                raise PluginError(f"Plugin '{plugin}' asked for the {port} port, but {setting} is empty.")
            raise PluginError(
                f"Plugin '{plugin}' uses the {port} port, but its manifest does not list it in 'ports'; "
                f"add {port!r} to the manifest."
            )
        instance = self.providers[name]()
        if not isinstance(instance, kind):
            raise PluginError(
                f"The adapter bound to the {port} port is a {type(instance).__name__}, not a {kind.__name__}."
            )
        return instance

    # ------------------------------------------------------------------------------------------------ ports
    # The ports are abstract classes, which mypy refuses where type[R] is expected even though _get only
    # isinstance-checks against them (python/mypy#4717); hence the narrow ignores below.

    def database(self, plugin: str) -> Database:
        """The plugin's database, bound to it: ``unit_of_work()`` writes to ``<plugin>_outbox``."""
        return self._get(plugin, "database", Database).bound(plugin)  # type: ignore[type-abstract]

    def keyvalue(self, plugin: str) -> KeyValue:
        """The plugin's key space: every key it uses is prefixed with ``<plugin>:``."""
        return self._get(plugin, "keyvalue", KeyValue).namespace(f"{plugin}:")  # type: ignore[type-abstract]

    def keyvalue_of(self, owner: str) -> KeyValue:
        """Plugin ``owner``'s key space (its URL and its ``<owner>:`` prefix), whether or not ``owner`` runs
        in this process: for a plugin that reads keys another one writes, such as the token verifier
        reading the revocations auth writes. Call it in ``wealist_configure``, before the adapters start."""
        if (owner, "keyvalue") not in self._ports:
            self._bind(owner, "keyvalue")
        return self.keyvalue(owner)

    def pubsub(self, plugin: str) -> PubSub:
        return self._get(plugin, "pubsub", PubSub)  # type: ignore[type-abstract]

    def eventbus(self, plugin: str) -> EventBus:
        return self._get(plugin, "eventbus", EventBus)  # type: ignore[type-abstract]

    def blobstore(self, plugin: str) -> BlobStore:
        return self._get(plugin, "blobstore", BlobStore)  # type: ignore[type-abstract]

    def mailer(self, plugin: str) -> Mailer:
        return self._get(plugin, "mailer", Mailer)  # type: ignore[type-abstract]

    def media(self, plugin: str) -> MediaRooms | None:
        """The media server, or None when ``WEALIST_MEDIA_URL`` is empty (video answers 503)."""
        if (plugin, "media") not in self._ports:
            return None
        return self._get(plugin, "media", MediaRooms)  # type: ignore[type-abstract]

    def has_port(self, plugin: str, port: str) -> bool:
        return (plugin, port) in self._ports

    # -------------------------------------------------------------------------------------------- lifecycle

    def resources(self) -> list[tuple[str, Resource]]:
        """Every adapter instance with a label naming its port and URL (password masked)."""
        out: list[tuple[str, Resource]] = []
        for (port, url), name in self._by_url.items():
            out.append((f"{port}:{mask_url(url)}", cast(Resource, self.providers[name]())))
        return out

    async def start(self) -> None:
        """Open every adapter in binding order; on failure, close those already open and re-raise."""
        try:
            for _label, resource in self.resources():
                await resource.start()
                self._started.append(resource)
        except BaseException:
            await self.close()
            raise

    async def close(self) -> None:
        await self.contracts.close()
        while self._started:
            resource = self._started.pop()
            try:
                await resource.close()
            except Exception:  # closing must go on for the others
                log.exception("closing %s failed", type(resource).__name__)

    def __repr__(self) -> str:
        bound: dict[str, Any] = {f"{p}.{port}": n for (p, port), n in self._ports.items()}
        return f"<Container {bound}>"
