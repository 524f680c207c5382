"""The toy contract ``roster.Roster``: a provider whose answers a remote caller may cache."""

from __future__ import annotations

from typing import Protocol

from wealist_core.contracts import cacheable, contract

__all__ = ["Roster"]


@contract("roster")
class Roster(Protocol):
    """Who has which role in which team, as the roster toy keeps it."""

    @cacheable(invalidated_by=("roster.role_*",))
    async def role(self, team: str, person: str) -> str | None:
        """The person's role in the team, or None; its answers are dropped by ``roster.role_*`` events."""
        ...

    async def served(self) -> int:
        """How many ``role`` questions the provider has answered (so a test sees what the cache spared)."""
        ...
