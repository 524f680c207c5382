"""The LiveKit adapter of the MediaRooms port: a self-hosted LiveKit server or LiveKit Cloud.

``livekit://KEY:SECRET@livekit:7880`` speaks plain HTTP and WebSocket (a server inside the deployment),
``livekits://KEY:SECRET@project.livekit.cloud`` speaks TLS (LiveKit Cloud, or a self-hosted server behind
TLS). LiveKit's own ``ws://`` and ``wss://`` URLs (as LiveKit Cloud's console shows them) work too, with the
key and secret in front of the host. See :mod:`wealist_adapters.livekit.rooms` for the options.
"""

from __future__ import annotations

from wealist_core import AdapterContext, AdapterSpec, Resource, hookimpl


def _media(context: AdapterContext) -> Resource:
    from wealist_adapters.livekit.rooms import LiveKitMediaRooms

    return LiveKitMediaRooms.from_context(context)


@hookimpl
def wealist_register_adapters() -> list[AdapterSpec]:
    return [AdapterSpec("media", ("livekit", "livekits", "ws", "wss"), _media, "LiveKitMediaRooms")]
