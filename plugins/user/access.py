"""Who may do what: the checks every service of the user plugin starts with.

A workspace the caller does not belong to is a 404, whatever it is (public or not, existing or not): its
existence is not the caller's business. A member lacking the role for an action gets a 403, since the
workspace is visible to them.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Protocol, TypeVar

from email_validator import EmailNotValidError, validate_email
from wealist_plugins.user.contract import Role
from wealist_plugins.user.models import Member, User, Workspace
from wealist_plugins.user.repository import UserRepository

from wealist_core import Forbidden, NotFound, Principal, Unauthorized, ValidationProblem

__all__ = [
    "MANAGERS",
    "actor",
    "check_actor",
    "invalid_field",
    "normalise_email",
    "require_inviter",
    "require_manager",
    "require_member",
    "user_id_of",
    "workspace_not_found",
]

#: The roles that manage a workspace's members and settings.
MANAGERS = (Role.OWNER.value, Role.ADMIN.value)


def user_id_of(principal: Principal) -> uuid.UUID:
    """The user a principal speaks for; a service principal or a foreign subject is refused."""
    if principal.is_service:
        raise Forbidden("These routes serve people, not services.", code="USER_REQUIRED")
    try:
        return uuid.UUID(principal.id)
    except ValueError:
        raise Unauthorized("The token's subject is not a Wealist user.", code="UNKNOWN_USER") from None


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


async def require_member(
    repo: UserRepository, workspace_id: uuid.UUID, user_id: uuid.UUID, *, for_update: bool = False
) -> tuple[Workspace, Member]:
    """The live workspace and the caller's membership; 404 when either is missing."""
    workspace = await repo.workspace(workspace_id, for_update=for_update)
    if workspace is None:
        raise workspace_not_found(workspace_id)
    member = await repo.member(workspace_id, user_id)
    if member is None:
        raise workspace_not_found(workspace_id)
    return workspace, member


def require_manager(member: Member, action: str) -> None:
    """403 unless the member is the owner or an admin."""
    if member.role not in MANAGERS:
        raise Forbidden(f"Only the owner and admins may {action}.", code="ROLE_REQUIRED")


def require_inviter(workspace: Workspace, role: str) -> None:
    """403 unless a member with ``role`` may invite (and see the invitations): managers always, members
    when the workspace lets them (``onlyAdminsInvite`` false)."""
    if role not in MANAGERS and workspace.only_admins_invite:
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
