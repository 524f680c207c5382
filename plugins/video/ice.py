"""ICE servers for a browser joining a call: STUN, and TURN with time-limited credentials.

TURN credentials follow the TURN REST convention Coturn implements with ``use-auth-secret``: the user name
is ``<expiry unix time>:<user id>`` and the password is base64(HMAC-SHA1(static-auth-secret, user name)).
Coturn recomputes the password from the secret it shares with us and refuses the name once its time passed,
so no credential is stored anywhere and none outlives its expiry.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import uuid

from wealist_plugins.video.options import VideoOptions
from wealist_plugins.video.schemas import IceServerOut

__all__ = ["ice_servers", "turn_credential"]


def turn_credential(secret: str, user_id: uuid.UUID, expires_at: dt.datetime) -> tuple[str, str]:
    """The TURN REST user name and password for ``user_id``, valid until ``expires_at``."""
    username = f"{int(expires_at.timestamp())}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()


def ice_servers(options: VideoOptions, user_id: uuid.UUID, now: dt.datetime) -> list[IceServerOut]:
    servers: list[IceServerOut] = []
    if options.stun_urls:
        servers.append(IceServerOut(urls=list(options.stun_urls)))
    if options.turn_urls:
        expires = now + dt.timedelta(seconds=options.turn_ttl)
        username, credential = turn_credential(options.turn_secret, user_id, expires)
        servers.append(IceServerOut(urls=list(options.turn_urls), username=username, credential=credential))
    return servers
