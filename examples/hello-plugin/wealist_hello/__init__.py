"""A Wealist plugin in one file: a manifest and one typed route.

It imports only the public surface (``wealist_core`` and ``wealist_core.http``), which is all a third-party
plugin may rely on.
"""

from __future__ import annotations

from wealist_core import PluginManifest, hookimpl
from wealist_core.http import ApiModel, ApiRoute, Field

__all__ = ["Greeting", "HelloPlugin", "HelloQuery"]

__version__ = "0.1.0"


class HelloQuery(ApiModel):
    """The query string of ``GET /api/hello``: whom to greet."""

    name: str = Field(min_length=1, max_length=64, description="Who to greet, 1 to 64 characters.")


class Greeting(ApiModel):
    """The answer of ``GET /api/hello``."""

    message: str


async def say_hello(query: HelloQuery) -> Greeting:
    """Greet someone by name."""
    return Greeting(message=f"Hello, {query.name}!")


class HelloPlugin:
    """Says hello. The host instantiates the class once per application and calls its hooks."""

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="hello",
            version=__version__,
            description="Says hello: an example third-party plugin.",
            prefixes=("/api/hello",),
        )

    @hookimpl
    def wealist_register_routes(self) -> list[ApiRoute]:
        # auth=False: greeting needs no signed-in user (routes require one by default).
        return [
            ApiRoute(
                "/api/hello",
                say_hello,
                methods=["GET"],
                query=HelloQuery,
                response=Greeting,
                auth=False,
                tags=["hello"],
            )
        ]
