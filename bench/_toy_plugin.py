"""The plugin the host benchmarks serve: one route, the same as the bare application's."""

from __future__ import annotations

from wealist_core import PluginManifest, hookimpl
from wealist_core.http import ApiModel, ApiRoute


class Greeting(ApiModel):
    """The answer of ``GET /api/bench/hello``."""

    message: str


async def hello() -> Greeting:
    """Say hello to the world."""
    return Greeting(message="Hello, world!")


class BenchPlugin:
    """A typed route with a response model, open to anyone: the cheapest thing a plugin serves."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name="bench", version="0.0.0", prefixes=("/api/bench",))

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        return [ApiRoute("/api/bench/hello", hello, methods=["GET"], response=Greeting, auth=False)]
