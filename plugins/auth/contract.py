"""What the auth plugin offers other code in the same process: the public keys that verify its tokens.

The token verifier (:mod:`wealist_plugins.auth.verifier`) uses it when auth runs in the same process;
elsewhere it fetches the same document from auth's public ``/api/auth/.well-known/jwks.json``.
"""

from __future__ import annotations

from typing import Any, Protocol

from wealist_core.contracts import contract

__all__ = ["TokenKeys"]


@contract("auth")
class TokenKeys(Protocol):
    """The JSON Web Key Set of the keys that sign access tokens."""

    async def jwks(self, refresh: bool = False) -> dict[str, Any]:
        """``{"keys": [...]}``: the current key and the retired ones whose tokens may still be alive.
        ``refresh`` reloads the keys from storage first (another process may have rotated them)."""
        ...
