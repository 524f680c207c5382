"""The checks the user plugin's services start with, beyond the guards of its contract.

Membership and roles are checked by the guards in the handlers' signatures (``MemberOf``, ``ManagerOf``,
``OwnerOf`` of :mod:`wealist_plugins.user.contract`), the same ones every plugin uses. What is left here is
the user plugin's own: the live account making the request, the workspace rows a write locks, the
workspace setting that lets members invite, and the shapes of its 422s.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol, TypeVar

from email_validator import EmailNotValidError, validate_email
from wealist_plugins.user.contract import MANAGERS, Membership, Role
from wealist_plugins.user.models import Member, User, Workspace
from wealist_plugins.user.repository import UserRepository

from wealist_core import Forbidden, NotFound, Unauthorized, ValidationProblem

__all__ = [
    "actor",
    "check_actor",
    "invalid_field",
    "locked",
    "normalise_email",
    "require_inviter",
    "workspace_not_found",
]


async def actor(repo: UserRepository, user_id: uuid.UUID) -> User:
    """The live user making the request."""
    return check_actor(await repo.user(user_id))


class _Account(Protocol):
    @property
    def deleted_at(self) -> dt.datetime | None: ...


AccountT = TypeVar("AccountT", bound=_Account)


def check_actor(user: AccountT | None) -> AccountT:
    """``user`` (a ``User``, or a row of its columns with ``deleted_at``) when it is a live account; 401
    when there is none, 403 when it is deleted."""
    if user is None:
        raise Unauthorized("This account does not exist (any more).", code="UNKNOWN_USER")
    if user.deleted_at is not None:
        raise Forbidden(
            "This account is deleted; restore it with POST /api/users/me/restore within the grace period.",
            code="ACCOUNT_DELETED",
        )
    return user


def workspace_not_found(workspace_id: uuid.UUID) -> NotFound:
    return NotFound(f"No workspace {workspace_id} that you belong to.", code="WORKSPACE_NOT_FOUND")


async def locked(
    repo: UserRepository, membership: Membership, *, for_update: bool = True
) -> tuple[Workspace, Member]:
    """The workspace and membership rows a guard admitted, locked for the write that follows; 404 when a
    concurrent request removed either meanwhile."""
    workspace = await repo.workspace(membership.workspace_id, for_update=for_update)
    member = await repo.member(membership.workspace_id, membership.user_id) if workspace else None
    if workspace is None or member is None:
        raise workspace_not_found(membership.workspace_id)
    return workspace, member


def require_inviter(workspace: Workspace, role: str) -> None:
    """403 unless a member with ``role`` may invite (and see the invitations): managers always, members
    when the workspace lets them (``onlyAdminsInvite`` false)."""
    if Role(role) not in MANAGERS and workspace.only_admins_invite:
        raise Forbidden("Only the owner and admins may invite to this workspace.", code="ROLE_REQUIRED")


def invalid_field(field: str, message: str, code: str = "VALIDATION_ERROR") -> ValidationProblem:
    """A 422 about one field (its wire name, e.g. ``body.avatarKey``), shaped as the host's own."""
    return ValidationProblem(
        f"{field}: {message}", code=code, errors=[{"field": field, "message": message, "type": "value_error"}]
    )


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased; 422 when it is not an email address."""
    email = raw.strip().lower()
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationProblem(
            f"email: {exc}", errors=[{"field": "email", "message": str(exc), "type": "email"}]
        ) from None
    return email
