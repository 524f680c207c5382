"""The toy contract ``greeter.Greeter``: what the consumer toy may ask of the greeter toy."""

from __future__ import annotations

from typing import Protocol

from wealist_core.contracts import contract
from wealist_core.http.models import ApiModel

__all__ = ["GreetRequest", "Greeter", "Greeting"]


class GreetRequest(ApiModel):
    """Whom to greet, and how."""

    name: str
    excited: bool = False


class Greeting(ApiModel):
    """A greeting, with the process that wrote it (so a test can tell where the call ran)."""

    text: str
    name: str
    pid: int


@contract("greeter")
class Greeter(Protocol):
    """Greets the people the greeter knows; anyone else is ``NotFound`` (code ``GREETEE_UNKNOWN``)."""

    async def greet(self, request: GreetRequest) -> Greeting: ...

    async def known(self, prefix: str = "") -> list[str]: ...

    async def count(self, name: str) -> int: ...
