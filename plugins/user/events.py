"""The events the user plugin publishes (through its outbox), and their payloads.

Payloads are camelCase JSON with ids as strings, and carry the names a notification needs (workspace
name, actor name), so a consumer can write "Ada added you to Apollo" without calling back.

- ``user.member_added``: workspaceId, workspaceName, userId, userName, role, actorId, actorName, via
  (``CREATED``, ``INVITATION``, ``JOIN_REQUEST``)
- ``user.member_removed``: workspaceId, workspaceName, userId, userName, role, actorId, actorName, reason
  (``REMOVED``, ``LEFT``)
- ``user.member_role_changed``: workspaceId, workspaceName, userId, userName, role, previousRole, actorId,
  actorName (a transfer of ownership sends two: the new owner's and the old owner's)
- ``user.invitation_sent``: workspaceId, workspaceName, invitationId, email, role, actorId, actorName (an
  address without an account; an existing user is added at once: ``member_added`` with via INVITATION)
- ``user.join_request_created``: workspaceId, workspaceName, requestId, userId, userName, status, adminIds
  (the owner and admins, who may decide it)
- ``user.join_request_decided``: workspaceId, workspaceName, requestId, userId, userName, status, actorId,
  actorName
- ``user.workspace_deleted``: workspaceId, workspaceName, actorId
- ``user.user_deleted``: userId (the account is hidden until restored; auth may revoke its sessions)
- ``user.user_restored``: userId
"""

from __future__ import annotations

import uuid
from typing import Any

__all__ = [
    "INVITATION_SENT",
    "JOIN_REQUEST_CREATED",
    "JOIN_REQUEST_DECIDED",
    "MEMBER_ADDED",
    "MEMBER_REMOVED",
    "MEMBER_ROLE_CHANGED",
    "PUBLISHED",
    "USER_DELETED",
    "USER_RESTORED",
    "WORKSPACE_DELETED",
    "Actor",
    "payload",
]

MEMBER_ADDED = "user.member_added"
MEMBER_REMOVED = "user.member_removed"
MEMBER_ROLE_CHANGED = "user.member_role_changed"
INVITATION_SENT = "user.invitation_sent"
JOIN_REQUEST_CREATED = "user.join_request_created"
JOIN_REQUEST_DECIDED = "user.join_request_decided"
WORKSPACE_DELETED = "user.workspace_deleted"
USER_DELETED = "user.user_deleted"
USER_RESTORED = "user.user_restored"

PUBLISHED = (
    MEMBER_ADDED,
    MEMBER_REMOVED,
    MEMBER_ROLE_CHANGED,
    INVITATION_SENT,
    JOIN_REQUEST_CREATED,
    JOIN_REQUEST_DECIDED,
    WORKSPACE_DELETED,
    USER_DELETED,
    USER_RESTORED,
)

#: ``(id, name)`` of whoever caused an event.
Actor = tuple[uuid.UUID, str]


def payload(**values: Any) -> dict[str, Any]:
    """A JSON-ready payload: UUIDs as strings, lists of UUIDs as lists of strings, keys as given."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, (list, tuple)):
            value = [str(v) if isinstance(v, uuid.UUID) else v for v in value]
        out[key] = value
    return out
