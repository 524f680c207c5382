"""The consumer toy: needs ``greeter.Greeter`` and calls it from its routes under ``/api/consumer``.

It asks for the contract in ``wealist_configure``, as a real plugin does: the host gives it the greeter's
own object when the greeter runs in this process, and an HTTP client when ``WEALIST_PEERS__GREETER`` points
elsewhere. The routes never know which.
"""

from __future__ import annotations

import os

from starlette.routing import BaseRoute

from tests.plugins.greeter_contract import Greeter, Greeting, GreetRequest
from wealist_core import PluginManifest, Settings, hookimpl
from wealist_core.container import Container
from wealist_core.http.models import ApiModel
from wealist_core.http.routing import ApiRoute

__all__ = ["ConsumerPlugin", "Relayed"]


class Relayed(ApiModel):
    """The greeter's answer as the consumer saw it, with the consumer's own process id."""

    greeting: Greeting
    times: int
    known: list[str]
    served_by: int


class ConsumerPlugin:
    """Relays greetings from ``greeter.Greeter``."""

    greeter: Greeter

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="consumer",
            version="1.0.0",
            description="Asks the greeter.",
            prefixes=("/api/consumer",),
            needs=("greeter.Greeter",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self.greeter = container.contracts.get(Greeter)

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        async def relay(name: str) -> Relayed:
            """Greet ``name`` through the greeter, wherever it runs."""
            greeter = self.greeter
            greeting = await greeter.greet(GreetRequest(name=name, excited=True))
            return Relayed(
                greeting=greeting,
                times=await greeter.count(name),
                known=await greeter.known(name[:1]),
                served_by=os.getpid(),
            )

        return [ApiRoute("/api/consumer/greet/{name}", relay, auth=False, response=Relayed)]
