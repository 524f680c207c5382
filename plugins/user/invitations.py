"""Invitations by email: an existing user is added at once; an unknown address gets an email with a link.

The link is ``<public_url>/invite/<token>``; only the token's SHA-256 is stored, so a database leak does not
leak working links. The invitee joins by signing up with the invited address (``Directory.create_user``
turns pending invitations into memberships) or, signed in with any account, by accepting the token
(``POST /api/workspaces/invitations/{token}/accept``). Inviting an address that has a pending invitation
again sends a fresh link (the old one stops working).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid

from wealist_plugins.user.access import actor, locked, normalise_email, require_inviter
from wealist_plugins.user.contract import InvitationSent, Membership, Role
from wealist_plugins.user.joining import add_member, admin_limit_reached, already_member
from wealist_plugins.user.models import Invitation, User, Workspace
from wealist_plugins.user.options import UserOptions
from wealist_plugins.user.repository import UserRepository
from wealist_plugins.user.schemas import AcceptResult, InvitationOut, InviteIn, InviteResult, InviteStatus
from wealist_plugins.user.workspaces import workspace_out

from wealist_core import Clock, Conflict, Forbidden, Mailer, MailMessage, NotFound, UnitOfWork, utcnow
from wealist_core.http import Page
from wealist_core.pagination import PageQuery

__all__ = ["InvitationService", "hash_token"]

log = logging.getLogger("wealist.user")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _out(invitation: Invitation) -> InvitationOut:
    return InvitationOut(
        invitation_id=invitation.id,
        workspace_id=invitation.workspace_id,
        email=invitation.email,
        role=Role(invitation.role),
        invited_by=invitation.invited_by,
        created_at=invitation.created_at,
        expires_at=invitation.expires_at,
    )


class InvitationService:
    """Invite, list and revoke invitations, and accept one."""

    def __init__(self, mailer: Mailer, options: UserOptions, *, clock: Clock = utcnow) -> None:
        self.mailer = mailer
        self.options = options
        self.clock = clock

    async def invite(self, uow: UnitOfWork, member: Membership, body: InviteIn) -> InviteResult:
        email = normalise_email(str(body.email))
        role = body.role
        repo = UserRepository(uow.session)
        me = await actor(repo, member.user_id)
        workspace, mine = await locked(repo, member)
        require_inviter(workspace, mine.role)
        if role is Role.OWNER:
            raise Forbidden(
                "OWNER is never assigned: transfer the ownership instead.", code="OWNER_NOT_ASSIGNABLE"
            )
        if role is Role.ADMIN and mine.role == Role.MEMBER:
            raise Forbidden("Only the owner and admins may invite admins.", code="ROLE_REQUIRED")
        if role is Role.ADMIN and await admin_limit_reached(repo, workspace, self.options.max_admins):
            raise Conflict(f"A workspace has at most {self.options.max_admins} admins.", code="ADMIN_LIMIT")
        existing = await repo.user_by_email(email)
        if existing is not None:
            if await repo.member(workspace.id, existing.id) is not None:
                raise already_member(existing, workspace)
            await add_member(uow, repo, workspace, existing, role, actor=me, via="INVITATION")
            return InviteResult(status=InviteStatus.ADDED, user_id=existing.id)
        token = secrets.token_urlsafe(32)
        invitation = await self._record(repo, workspace, email, role, me, token)
        uow.emit(
            InvitationSent(
                workspace_id=workspace.id,
                workspace_name=workspace.name,
                invitation_id=invitation.id,
                email=email,
                role=role,
                actor_id=me.id,
                actor_name=me.name,
            )
        )
        result = InviteResult(status=InviteStatus.INVITED, invitation_id=invitation.id, email_sent=False)
        workspace_name, inviter_name, expires_at = workspace.name, me.name, invitation.expires_at

        async def send() -> None:
            # After the commit: a slow mail server must not hold the transaction (and SQLite's write lock).
            result.email_sent = await self._send(email, token, workspace_name, inviter_name, expires_at)

        uow.after_commit(send)
        return result

    async def _record(
        self, repo: UserRepository, workspace: Workspace, email: str, role: Role, me: User, token: str
    ) -> Invitation:
        now = self.clock()
        expires_at = now + dt.timedelta(days=self.options.invitation_ttl_days)
        invitation = await repo.pending_invitation(workspace.id, email)
        if invitation is None:
            invitation = Invitation(id=uuid.uuid4(), workspace_id=workspace.id, email=email, status="PENDING")
            repo.add(invitation)
        invitation.role, invitation.token_hash, invitation.invited_by = role.value, hash_token(token), me.id
        invitation.created_at, invitation.expires_at = now, expires_at
        await repo.flush()
        return invitation

    async def _send(
        self, email: str, token: str, workspace: str, inviter: str, expires_at: dt.datetime
    ) -> bool:
        link = f"{self.options.public_url}/invite/{token}"
        text = (
            f"{inviter} invited you to the workspace {workspace} on Wealist.\n\n"
            f"Join it here: {link}\n\n"
            f"The link works until {expires_at:%Y-%m-%d %H:%M} UTC. If you did not expect this invitation, "
            "ignore this message."
        )
        message = MailMessage(
            to=[email], subject=f"{inviter} invited you to {workspace} on Wealist", text=text
        )
        try:
            await self.mailer.send(message)
        except Exception:
            # The invitation exists; inviting the address again sends a fresh link.
            log.exception("sending the invitation to %s failed", email)
            return False
        return True

    async def list(self, uow: UnitOfWork, member: Membership, query: PageQuery) -> Page[InvitationOut]:
        repo = UserRepository(uow.session)
        workspace, mine = await locked(repo, member, for_update=False)
        require_inviter(workspace, mine.role)
        part = await repo.pending_invitations(workspace.id, self.clock(), query)
        return Page[InvitationOut](items=[_out(i) for i in part.rows], next_cursor=part.next_cursor)

    async def revoke(self, uow: UnitOfWork, member: Membership, invitation_id: uuid.UUID) -> None:
        repo = UserRepository(uow.session)
        workspace, mine = await locked(repo, member, for_update=False)
        require_inviter(workspace, mine.role)
        invitation = await repo.invitation(workspace.id, invitation_id)
        if invitation is None or invitation.status != "PENDING":
            raise NotFound(f"No pending invitation {invitation_id}.", code="INVITATION_NOT_FOUND")
        invitation.status, invitation.decided_at = "REVOKED", self.clock()

    async def accept(self, uow: UnitOfWork, user_id: uuid.UUID, token: str) -> AcceptResult:
        gone = NotFound(
            "This invitation link is unknown, used, revoked or expired.", code="INVITATION_NOT_FOUND"
        )
        repo = UserRepository(uow.session)
        me = await actor(repo, user_id)
        invitation = await repo.invitation_by_token(hash_token(token))
        if invitation is None:
            raise gone
        pending = invitation.status == "PENDING" and invitation.expires_at > self.clock()
        # Following one's own used link again shows the workspace; it never lets a removed member back.
        reused = invitation.status == "ACCEPTED" and invitation.accepted_by == me.id
        workspace = await repo.workspace(invitation.workspace_id, for_update=True)
        if workspace is None or not (pending or reused):
            raise gone
        member = await repo.member(workspace.id, me.id)
        already = member is not None
        if member is None:
            if not pending:
                raise gone
            role = Role(invitation.role)
            if role is Role.ADMIN and await admin_limit_reached(repo, workspace, self.options.max_admins):
                role = Role.MEMBER
            inviter = await repo.user(invitation.invited_by)
            member = await add_member(uow, repo, workspace, me, role, actor=inviter or me, via="INVITATION")
        if pending:
            invitation.status, invitation.accepted_by = "ACCEPTED", me.id
            invitation.decided_at = self.clock()
        return AcceptResult(workspace=workspace_out(workspace, member.role), already_member=already)
