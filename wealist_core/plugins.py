"""Loading plugins and adapters, and checking that the set of them makes sense before anything starts.

Built-in plugins and adapters come through the same entry points a third party uses (``wealist.plugins``,
``wealist.adapters``); the host has no list of them. An entry point names a module (registered as is) or a
class (instantiated once per host, so two hosts in one process never share state).
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any

import pluggy
from starlette.middleware import Middleware

from wealist_core import hookspecs
from wealist_core.adapters import AdapterRegistry
from wealist_core.errors import PluginError
from wealist_core.events import declared_events, subscriptions_of
from wealist_core.manifest import PluginManifest
from wealist_core.settings import Settings

__all__ = ["ADAPTER_GROUP", "PLUGIN_GROUP", "LoadedPlugin", "PluginHost", "contract_provider"]

PLUGIN_GROUP = "wealist.plugins"
ADAPTER_GROUP = "wealist.adapters"

log = logging.getLogger("wealist.plugins")

#: Host-level paths no plugin may claim.
RESERVED_PREFIXES = ("/health", "/metrics", "/internal", "/blobs", "/api/openapi.json", "/api/docs")


@dataclass(frozen=True)
class LoadedPlugin:
    name: str
    obj: object
    manifest: PluginManifest
    source: str  # the distribution (or "test") it came from


def contract_provider(contract: str) -> str:
    """``user.Directory`` -> ``user``: a contract is named after the plugin that provides it."""
    return contract.split(".", 1)[0]


def _distribution(ep: Any) -> str:
    dist = getattr(ep, "dist", None)
    return f"{dist.name} {dist.version}" if dist is not None else ep.value


def _import_path(path: str, setting: str = "WEALIST_PLUGIN_MODULES") -> object:
    module_name, _, attr = path.partition(":")
    try:
        obj: object = importlib.import_module(module_name)
        for part in attr.split(".") if attr else ():
            obj = getattr(obj, part)
    except (ImportError, AttributeError) as exc:
        raise PluginError(
            f"{setting} names {path!r}, which cannot be imported ({exc}); "
            "give 'package.module' or 'package.module:Class'."
        ) from exc
    return obj


def _derived(manifest: PluginManifest, plugin: object) -> PluginManifest:
    """The manifest with what need not be restated: ``publishes`` gains the events declared with the
    plugin's prefix (``DomainEvent`` subclasses in its contract module), ``consumes`` the event types of its
    ``@subscribe`` methods."""
    publishes = _union(manifest.publishes, (cls.event_type for cls in declared_events(manifest.name)))
    consumes = _union(manifest.consumes, (kind for kind, _handler in subscriptions_of(plugin)))
    if publishes == manifest.publishes and consumes == manifest.consumes:
        return manifest
    return dataclasses.replace(manifest, publishes=publishes, consumes=consumes)


def _union(given: tuple[str, ...], more: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*given, *more)))


def _instantiate(obj: object) -> object:
    # A class is instantiated per host; a module (or an instance) is registered as it is.
    return obj() if inspect.isclass(obj) else obj


class PluginHost:
    """The plugin manager of one application: which plugins run here, with which adapters available."""

    def __init__(
        self,
        settings: Settings,
        *,
        plugins: Sequence[object] = (),
        adapters: Sequence[object] = (),
        check: bool = True,
    ) -> None:
        self.settings = settings
        self.pm = pluggy.PluginManager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        if settings.trace_hooks:
            self._enable_tracing()
        self.adapters = AdapterRegistry()
        self.installed: dict[str, LoadedPlugin] = {}  # every plugin that could run
        self.active: dict[str, LoadedPlugin] = {}  # the ones this process runs, in load order
        self._load_adapters(adapters)
        self._load_plugins(plugins)
        self._check_pending()
        if check:
            self._validate()

    # ----------------------------------------------------------------------------------------- loading

    def _enable_tracing(self) -> None:
        tracer = logging.getLogger("wealist.hooks")

        def before(hook_name: str, impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
            tracer.info("call %s(%s) -> %s", hook_name, ", ".join(kwargs), [i.plugin_name for i in impls])

        def after(
            outcome: pluggy.Result[Any],
            hook_name: str,
            impls: Sequence[pluggy.HookImpl],
            kwargs: Mapping[str, Any],
        ) -> None:
            tracer.info(
                "done %s: %r",
                hook_name,
                outcome.get_result() if outcome.exception is None else outcome.exception,
            )

        self.pm.add_hookcall_monitoring(before, after)

    def _load_adapters(self, extra: Sequence[object]) -> None:
        sources: list[tuple[str, object, str]] = []
        if self.settings.autoload:
            for ep in sorted(entry_points(group=ADAPTER_GROUP), key=lambda e: e.name):
                sources.append((ep.name, ep, _distribution(ep)))
        for path in self.settings.adapter_modules:
            sources.append((path.rsplit(".", 1)[-1], _import_path(path, "WEALIST_ADAPTER_MODULES"), path))
        for obj in extra:
            sources.append((getattr(obj, "__name__", type(obj).__name__), obj, "explicit"))
        for name, obj, source in sources:
            if hasattr(obj, "load") and hasattr(obj, "group"):
                try:
                    obj = obj.load()
                except Exception as exc:  # an installed package that cannot be imported
                    raise PluginError(
                        f"Adapter package '{name}' ({source}) failed to import: {exc}; "
                        "reinstall or uninstall it."
                    ) from exc
            module = _instantiate(obj)
            key = f"adapter:{name}"
            if self.pm.has_plugin(key):
                continue
            self.pm.register(module, name=key)
            impl = getattr(module, "wealist_register_adapters", None)
            if impl is not None:
                self.adapters.extend(impl() or [], source=f"{name} ({source})")

    def _load_plugins(self, extra: Sequence[object]) -> None:
        candidates: list[tuple[object, str]] = []
        if self.settings.autoload:
            for ep in sorted(entry_points(group=PLUGIN_GROUP), key=lambda e: e.name):
                try:
                    candidates.append((ep.load(), _distribution(ep)))
                except Exception as exc:
                    raise PluginError(
                        f"Plugin '{ep.name}' ({_distribution(ep)}) failed to import: {exc}; "
                        "reinstall it, or uninstall it."
                    ) from exc
        for path in self.settings.plugin_modules:
            candidates.append((_import_path(path), path))
        candidates.extend((obj, "explicit") for obj in extra)

        for obj, source in candidates:
            instance = _instantiate(obj)
            manifest_impl = getattr(instance, "wealist_plugin_manifest", None)
            if manifest_impl is None:
                raise PluginError(
                    f"Plugin {obj!r} from {source} does not implement wealist_plugin_manifest; "
                    "every plugin must describe itself."
                )
            manifest = manifest_impl()
            if not isinstance(manifest, PluginManifest):
                raise PluginError(f"Plugin {obj!r}: wealist_plugin_manifest must return a PluginManifest.")
            if manifest.name in self.installed:
                other = self.installed[manifest.name]
                raise PluginError(
                    f"Two plugins are named '{manifest.name}': from {other.source} and from {source}; "
                    "uninstall one of them."
                )
            manifest = _derived(manifest, instance)
            self.installed[manifest.name] = LoadedPlugin(manifest.name, instance, manifest, source)

        wanted = self.settings.plugins or tuple(self.installed)
        unknown = [name for name in wanted if name not in self.installed]
        if unknown:
            known = ", ".join(sorted(self.installed)) or "none"
            raise PluginError(
                f"WEALIST_PLUGINS names {', '.join(repr(u) for u in unknown)}, which is not installed; "
                f"installed plugins: {known}."
            )
        everywhere = [n for n, p in self.installed.items() if p.manifest.everywhere and n not in wanted]
        for name in _providers_first((*everywhere, *wanted), self.installed):
            self.active[name] = self.installed[name]
        # pluggy calls the most recently registered implementation first: registering in reverse makes every
        # hook run in load order, so a provider is configured before a plugin asking for its contract.
        for name, loaded in reversed(self.active.items()):
            self.pm.register(loaded.obj, name=name)
        # A plugin may ship adapters too (the hook is the same); they join the registry like any other.
        for name, loaded in self.active.items():
            impl = getattr(loaded.obj, "wealist_register_adapters", None)
            if impl is not None:
                self.adapters.extend(impl() or [], source=f"plugin {name} ({loaded.source})")

    # -------------------------------------------------------------------------------------- validation

    def _check_pending(self) -> None:
        """``pm.check_pending()``, reported as a start-up error naming the plugin and the likely hook."""
        try:
            self.pm.check_pending()
        except pluggy.PluginValidationError as exc:
            hook = next(
                (
                    name
                    for name, caller in vars(self.pm.hook).items()
                    if not name.startswith("_")
                    and not caller.has_spec()
                    and any(impl.plugin is exc.plugin for impl in caller.get_hookimpls())
                ),
                "?",
            )
            known = [n for n in vars(hookspecs) if n.startswith("wealist_")]
            close = difflib.get_close_matches(hook, known, n=1)
            hint = f"did you mean {close[0]}?" if close else "see docs/plugins.md for the hooks."
            name = self.pm.get_name(exc.plugin)
            message = f"Plugin '{name}' implements {hook}, which is not a Wealist hook; {hint}"
            raise PluginError(message) from exc

    def _validate(self) -> None:
        owners: dict[str, str] = {}
        for name, loaded in self.active.items():
            for prefix in loaded.manifest.prefixes:
                for reserved in RESERVED_PREFIXES:
                    if prefix == reserved or prefix.startswith(reserved + "/"):
                        raise PluginError(
                            f"Plugin '{name}' claims the prefix {prefix}, which the host reserves; "
                            "choose a prefix under /api/ or /ws/."
                        )
                for other_prefix, owner in owners.items():
                    if (
                        prefix == other_prefix
                        or prefix.startswith(other_prefix + "/")
                        or other_prefix.startswith(prefix + "/")
                    ):
                        raise PluginError(
                            f"Plugins '{owner}' and '{name}' both claim the route prefix "
                            f"{other_prefix if len(other_prefix) <= len(prefix) else prefix}; "
                            "each prefix belongs to one plugin: rename one of them."
                        )
                owners[prefix] = name
        provided = {c for loaded in self.active.values() for c in loaded.manifest.provides}
        for name, loaded in self.active.items():
            for contract in loaded.manifest.needs:
                if contract in provided:
                    continue
                provider = contract_provider(contract)
                if provider in self.settings.peers:
                    continue
                hint = (
                    f"add '{provider}' to WEALIST_PLUGINS"
                    if provider in self.installed
                    else "install the plugin that provides it"
                )
                raise PluginError(
                    f"Plugin '{name}' needs the contract {contract}, "
                    f"which no plugin of this process provides; {hint}, "
                    f"or set WEALIST_PEERS__{provider.upper()} to the URL of the process "
                    f"running '{provider}'."
                )

    # ------------------------------------------------------------------------------------------ calling

    def per_plugin(self, hook_name: str, **kwargs: Any) -> dict[str, list[Any]]:
        """Call a collect hook plugin by plugin: ``{plugin name: [results]}`` in load order.

        The host needs to know who contributed what (routes are labelled by plugin in metrics, subscriptions
        join the plugin's consumer group)."""
        hook = getattr(self.pm.hook, hook_name)
        out: dict[str, list[Any]] = {}
        for name, loaded in self.active.items():
            others = [p for p in self.pm.get_plugins() if p is not loaded.obj]
            caller = self.pm.subset_hook_caller(hook_name, remove_plugins=others) if others else hook
            flat: list[Any] = []
            for result in caller(**kwargs):
                if result is None:
                    continue
                # Middleware is iterable (it unpacks as a tuple): a single one must not be flattened.
                if _is_pair(hook_name, result) or isinstance(result, (str, bytes, Mapping, Middleware)):
                    flat.append(result)
                elif isinstance(result, Iterable):
                    flat.extend(result)
                else:
                    flat.append(result)
            out[name] = flat
        return out

    def manifests(self) -> list[PluginManifest]:
        return [loaded.manifest for loaded in self.active.values()]


def _providers_first(names: Sequence[str], installed: Mapping[str, LoadedPlugin]) -> list[str]:
    """``names`` in their order, except that a plugin comes after the plugins providing what it needs."""
    providers = {c: n for n in names for c in installed[n].manifest.provides}
    ordered: dict[str, None] = {}
    visiting: set[str] = set()

    def visit(name: str) -> None:
        if name in ordered or name in visiting:  # a cycle keeps the given order
            return
        visiting.add(name)
        for need in installed[name].manifest.needs:
            provider = providers.get(need)
            if provider is not None:
                visit(provider)
        ordered[name] = None

    for name in names:
        visit(name)
    return list(ordered)


def _is_pair(hook_name: str, value: object) -> bool:
    # A subscription hook may return a single (event type, handler) pair instead of a list of them.
    return (
        hook_name == "wealist_register_subscriptions"
        and isinstance(value, tuple)
        and len(value) == 2
        and isinstance(value[0], str)
    )
