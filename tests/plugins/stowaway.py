"""The stowaway toy: asks for ``greeter.Greeter`` in ``wealist_configure`` without listing it in its
manifest's ``needs``, which stops start-up."""

from __future__ import annotations

from tests.plugins.greeter_contract import Greeter
from wealist_core import PluginManifest, Settings, hookimpl
from wealist_core.container import Container

__all__ = ["StowawayPlugin"]


class StowawayPlugin:
    """Uses a contract its manifest does not declare."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="stowaway", prefixes=("/api/stowaway",))

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.greeter = container.contracts.get(Greeter)
