"""The adapter registry: which adapter serves which port for which URL scheme."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from wealist_core.errors import AdapterError
from wealist_core.ports import Resource
from wealist_core.settings import PORT_SETTINGS, Settings

__all__ = ["AdapterContext", "AdapterRegistry", "AdapterSpec", "url_scheme"]


@dataclass(frozen=True, slots=True)
class AdapterContext:
    """What an adapter factory gets: its URL, the settings, and the plugin it is built for (if any)."""

    url: str
    settings: Settings
    setting: str  # the environment variable that chose the URL, for error messages


@dataclass(frozen=True, slots=True)
class AdapterSpec:
    """One adapter: ``factory(context)`` builds an instance of ``port`` for URLs with one of ``schemes``."""

    port: str
    schemes: tuple[str, ...]
    factory: Callable[[AdapterContext], Resource]
    name: str

    def __post_init__(self) -> None:
        if self.port not in PORT_SETTINGS:
            raise ValueError(f"adapter {self.name}: unknown port {self.port!r}")


def url_scheme(url: str) -> str:
    return urlsplit(url).scheme.lower()


class AdapterRegistry:
    """Adapters by ``(port, scheme)``; duplicates and unknown schemes are configuration errors."""

    def __init__(self) -> None:
        self._specs: dict[tuple[str, str], tuple[AdapterSpec, str]] = {}

    def add(self, spec: AdapterSpec, source: str) -> None:
        for scheme in spec.schemes:
            key = (spec.port, scheme)
            if key in self._specs:
                other, other_source = self._specs[key]
                raise AdapterError(
                    f"Two adapters serve the {spec.port} port for '{scheme}://' URLs: {other.name} from "
                    f"'{other_source}' and {spec.name} from '{source}'; uninstall one of the two packages."
                )
            self._specs[key] = (spec, source)

    def extend(self, specs: Iterable[AdapterSpec], source: str) -> None:
        for spec in specs:
            self.add(spec, source)

    def schemes(self, port: str) -> list[str]:
        return sorted(scheme for (p, scheme) in self._specs if p == port)

    def specs(self) -> list[tuple[AdapterSpec, str]]:
        seen: dict[int, tuple[AdapterSpec, str]] = {}
        for spec, source in self._specs.values():
            seen.setdefault(id(spec), (spec, source))
        return list(seen.values())

    def resolve(self, port: str, url: str, *, setting: str, plugin: str | None = None) -> AdapterSpec:
        scheme = url_scheme(url)
        found = self._specs.get((port, scheme))
        if found is None:
            who = f"Plugin '{plugin}' needs the {port} port, but " if plugin else ""
            known = ", ".join(f"'{s}://'" for s in self.schemes(port)) or "none is installed"
            what = f"'{scheme}://'" if scheme else "an empty URL"
            raise AdapterError(
                f"{who}{setting} is {what}, which no installed adapter serves for the {port} port; "
                f"set it to one of {known}."
            )
        return found[0]
