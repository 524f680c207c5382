"""wealist-polls: polls in Wealist workspaces, an example of a third-party plugin.

It imports only the host's public surface (``wealist_core``, ``wealist_core.http``,
``wealist_core.pagination``) and, of the user plugin, its ``contract`` module.
"""

from __future__ import annotations

__version__ = "0.1.0"
