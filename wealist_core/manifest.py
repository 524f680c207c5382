"""What a plugin says about itself: the node it is in the graph of a deployment."""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["PluginManifest"]

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")


@dataclass(frozen=True)
class PluginManifest:
    """A plugin's name, version and needs.

    - ``prefixes``: URL path prefixes its routes live under (``/api/boards``, ``/ws/boards``); two plugins
      never share one, and the gateway routes each prefix to the process running the plugin.
    - ``ports``: the ports it uses (``database``, ``keyvalue``, ...): only these are opened for it.
    - ``provides`` / ``needs``: contract names (``user.Directory``), checked at start-up.
    - ``publishes`` / ``consumes``: event types, for documentation and ``wealist plugins``.
    - ``everywhere``: the plugin runs in every process (it must then claim no route prefix).
    """

    name: str
    version: str = "0.0.0"
    description: str = ""
    prefixes: tuple[str, ...] = ()
    ports: tuple[str, ...] = ()
    provides: tuple[str, ...] = ()
    needs: tuple[str, ...] = ()
    publishes: tuple[str, ...] = ()
    consumes: tuple[str, ...] = ()
    #: Runs in every process whatever WEALIST_PLUGINS says: for what each process needs locally, such as
    #: verifying access tokens.
    everywhere: bool = False

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise ValueError(f"plugin name {self.name!r} must be lower-case letters, digits and '_'")
        if self.everywhere and self.prefixes:
            raise ValueError(f"plugin {self.name!r} runs everywhere, so it cannot own route prefixes")
        for prefix in self.prefixes:
            if not prefix.startswith("/") or prefix.endswith("/"):
                raise ValueError(f"plugin {self.name!r}: prefix {prefix!r} must start and not end with '/'")
