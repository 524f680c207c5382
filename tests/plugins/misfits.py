"""Toy plugins that are wrong on purpose, for the start-up error tests."""

from __future__ import annotations

from wealist_adapters.memory.keyvalue import MemoryKeyValue

from wealist_core import AdapterContext, AdapterSpec, PluginManifest, hookimpl

__all__ = ["PrefixThiefPlugin", "RivalAdapterPlugin", "RivalKeyValue"]


class PrefixThiefPlugin:
    """Claims ``/api/greeter``, which the greeter toy owns."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="thief", prefixes=("/api/greeter",))


class RivalKeyValue(MemoryKeyValue):
    """A second adapter for ``memory://`` key-value URLs."""

    @classmethod
    def from_context(cls, context: AdapterContext) -> RivalKeyValue:
        return cls()


class RivalAdapterPlugin:
    """Registers an adapter for ``memory://`` key-value URLs, which the built-in memory adapters serve."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="rival", ports=("keyvalue",))

    @hookimpl
    def wealist_register_adapters(self) -> list[AdapterSpec]:
        return [AdapterSpec("keyvalue", ("memory",), RivalKeyValue.from_context, "RivalKeyValue")]
