"""The auth plugin's business rules: accounts, sign-in, sessions, password changes and the TOTP factor.

Sign-up creates the user in the user plugin's ``Directory`` first, then the credential here. The two live
in different stores (in split mode, different processes), so they cannot share one transaction; and in
the embedded shape both plugins write to one SQLite file, where holding auth's write transaction open
while the directory opens its own would deadlock. A sign-up whose credential fails to commit after the
directory created the user leaves a user without credentials: the next sign-up with that email, within
:data:`ORPHAN_WINDOW`, adopts that user instead of answering 409.

Argon2 runs outside units of work, so a slow hash never holds a database transaction (or SQLite's write
lock) open.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.auth.limits import AuthLimits
from wealist_plugins.auth.models import Account
from wealist_plugins.auth.passwords import PasswordHasher, check_password, normalise_email, valid_email
from wealist_plugins.auth.repository import AuthRepository
from wealist_plugins.auth.schemas import RecoveryCodes, SessionOut, TokenPair, TotpEnrollment
from wealist_plugins.auth.secretbox import SealedValueError, SecretBox
from wealist_plugins.auth.sessions import SessionStore
from wealist_plugins.auth.tokens import TokenIssuer
from wealist_plugins.auth.totp import Totp, is_totp_code, new_recovery_codes, normalise_recovery_code
from wealist_plugins.auth.useragent import describe_device
from wealist_plugins.user.contract import Directory, UserInfo

from wealist_core import (
    Conflict,
    Database,
    Forbidden,
    NotFound,
    Principal,
    RateLimited,
    Unauthorized,
    UnitOfWork,
    ValidationProblem,
    utcnow,
)

__all__ = ["ORPHAN_WINDOW", "AuthService", "Client"]

log = logging.getLogger("wealist.auth")

#: How recent a directory user without credentials must be for a sign-up with its email to adopt it.
ORPHAN_WINDOW = dt.timedelta(minutes=15)
_BAD_CREDENTIALS = "The email or the password is wrong."


@dataclass(frozen=True, slots=True)
class Client:
    """Where a request comes from: recorded on sessions and used by rate limits."""

    ip: str | None
    user_agent: str | None


def _email_taken() -> Conflict:
    return Conflict("An account with this email already exists; sign in instead.", code="EMAIL_TAKEN")


class AuthService:
    """Every auth use case, one method each; dependencies come through the constructor."""

    def __init__(
        self,
        *,
        database: Database,
        directory: Directory,
        hasher: PasswordHasher,
        sessions: SessionStore,
        issuer: TokenIssuer,
        totp: Totp,
        totp_box: SecretBox,
        codes_box: SecretBox,
        limits: AuthLimits,
    ) -> None:
        self.database = database
        self.directory = directory
        self.hasher = hasher
        self.sessions = sessions
        self.issuer = issuer
        self.totp = totp
        self._totp_box = totp_box
        self._codes_box = codes_box
        self.limits = limits

    def _uow(self) -> contextlib.AbstractAsyncContextManager[UnitOfWork]:
        return self.database.unit_of_work()

    def _reading(self) -> contextlib.AbstractAsyncContextManager[AsyncSession]:
        # Lookups run outside any transaction: on SQLite a unit of work takes the write lock.
        return self.database.reading()

    # -------------------------------------------------------------------------------------------- sessions

    async def start_session(self, user_id: uuid.UUID, client: Client, *, amr: list[str]) -> TokenPair:
        """A new session for a user who just proved who they are: a refresh token and an access token."""
        session_id, refresh = await self.sessions.create(
            str(user_id), device=describe_device(client.user_agent), ip=client.ip, amr=amr
        )
        access = await self.issuer.issue(
            str(user_id), session_id, amr=amr, deleted=await self._deleted(user_id)
        )
        return TokenPair(
            user_id=user_id, access_token=access.token, refresh_token=refresh, expires_in=access.expires_in
        )

    async def refresh(self, refresh_token: str, client: Client) -> TokenPair:
        await self.limits.refresh_ip(client.ip)
        user_id = await self.sessions.user_of(refresh_token)
        if user_id is not None:
            await self.limits.refresh_account(user_id)
        rotated = await self.sessions.rotate(refresh_token, ip=client.ip)
        # Asked again at each refresh: once the account is restored, the next token works everywhere.
        deleted = await self._deleted(uuid.UUID(rotated.user_id))
        access = await self.issuer.issue(
            rotated.user_id, rotated.session_id, amr=rotated.amr, deleted=deleted
        )
        return TokenPair(
            user_id=uuid.UUID(rotated.user_id),
            access_token=access.token,
            refresh_token=rotated.refresh_token,
            expires_in=access.expires_in,
        )

    async def _deleted(self, user_id: uuid.UUID) -> bool:
        """Whether the account is deleted (and so restorable only): its tokens are marked."""
        found = await self.directory.get_users([user_id])
        return any(user.deleted for user in found)

    async def logout(self, principal: Principal, refresh_token: str | None) -> None:
        if principal.token_id:
            await self.sessions.revoke_access_token(principal.token_id, principal.expires_at)
        if principal.session_id:
            await self.sessions.revoke(principal.id, principal.session_id)
        if refresh_token:
            owner = await self.sessions.owner(refresh_token)
            if owner is not None and owner[0] == principal.id:
                await self.sessions.revoke(*owner)

    async def logout_all(self, principal: Principal) -> None:
        if principal.token_id:
            await self.sessions.revoke_access_token(principal.token_id, principal.expires_at)
        ended = await self.sessions.revoke_all(principal.id)
        log.info("signed out everywhere", extra={"user_id": principal.id, "sessions": ended})

    async def list_sessions(self, principal: Principal) -> list[SessionOut]:
        return [
            SessionOut(
                session_id=uuid.UUID(info.session_id),
                device=info.device,
                ip=info.ip,
                created_at=dt.datetime.fromisoformat(info.created_at),
                last_used_at=dt.datetime.fromisoformat(info.last_used_at),
                current=info.session_id == principal.session_id,
            )
            for info in await self.sessions.list_for(principal.id)
        ]

    async def revoke_session(self, principal: Principal, session_id: uuid.UUID) -> None:
        """End one of the caller's sessions; another user's session is a 404, as is an unknown one."""
        if not await self.sessions.exists(principal.id, str(session_id)):
            raise NotFound("You have no such session.", code="SESSION_NOT_FOUND")
        await self.sessions.revoke(principal.id, str(session_id))

    # ------------------------------------------------------------------------------------ sign-up, sign-in

    async def signup(
        self, email: str, password: str, name: str, locale: str | None, client: Client
    ) -> TokenPair:
        email = valid_email(email)
        await self.limits.signup(client.ip, email)
        check_password(password, email=email)
        async with self._reading() as session:
            if await AuthRepository(session).account_by_email(email) is not None:
                raise _email_taken()
        password_hash = await self.hasher.hash(password)
        user_id = await self._create_directory_user(email, name.strip(), locale)
        try:
            async with self._uow() as uow:
                await AuthRepository(uow.session).add_account(
                    Account(
                        user_id=user_id,
                        email=email,
                        password_hash=password_hash,
                        password_changed_at=utcnow(),
                    )
                )
        except IntegrityError:
            raise _email_taken() from None
        except Exception:
            log.error("sign-up of user %s failed after the directory created it; a retry adopts it", user_id)
            raise
        log.info("signed up", extra={"user_id": str(user_id)})
        return await self.start_session(user_id, client, amr=["pwd"])

    async def _create_directory_user(self, email: str, name: str, locale: str | None) -> uuid.UUID:
        user_id = uuid.uuid4()
        try:
            if locale:
                await self.directory.create_user(user_id, email, name, locale)
            else:
                await self.directory.create_user(user_id, email, name)
        except Conflict:
            existing = await self.directory.find_user_by_email(email)
            if existing is None or not await self._is_orphan(existing):
                raise _email_taken() from None
            log.warning(
                "adopting user %s, left without credentials by an interrupted sign-up", existing.user_id
            )
            return existing.user_id
        return user_id

    async def _is_orphan(self, user: UserInfo) -> bool:
        if dt.datetime.now(dt.UTC) - user.created_at.astimezone(dt.UTC) > ORPHAN_WINDOW:
            return False
        async with self._reading() as session:
            repo = AuthRepository(session)
            return await repo.account(user.user_id) is None and not await repo.has_identity(user.user_id)

    async def login(self, email: str, password: str, totp_code: str | None, client: Client) -> TokenPair:
        email = normalise_email(email)
        locked = await self.limits.login(client.ip, email)
        async with self._reading() as session:
            account = await AuthRepository(session).account_by_email(email)
        verified = False
        if account is None or account.password_hash is None:
            await self.hasher.dummy_verify(password)  # the same time as a real check: no enumeration
        else:
            verified = await self.hasher.verify(account.password_hash, password)
        if account is None or account.password_hash is None or not verified:
            await self.limits.login_failed(client.ip, email)
            if locked:
                raise RateLimited("Too many attempts on this account; try again later.", retry_after=60)
            raise Unauthorized(_BAD_CREDENTIALS)
        if self.hasher.needs_rehash(account.password_hash):
            await self._store_password(account.user_id, await self.hasher.hash(password), changed=False)
        amr = ["pwd"]
        if account.totp_secret is not None:
            await self.require_second_factor(account.user_id, totp_code)
            amr.append("otp")
        return await self.start_session(account.user_id, client, amr=amr)

    async def has_second_factor(self, user_id: uuid.UUID) -> bool:
        async with self._reading() as session:
            account = await AuthRepository(session).account(user_id)
        return account is not None and account.totp_secret is not None

    async def require_second_factor(self, user_id: uuid.UUID, code: str | None) -> None:
        """401 ``TOTP_REQUIRED`` without a code, 401 ``TOTP_INVALID`` with a wrong or replayed one."""
        if not code:
            raise Unauthorized("Enter the code from your authenticator app (totpCode).", code="TOTP_REQUIRED")
        if not await self._spend_second_factor(user_id, code):
            raise Unauthorized("The code is wrong, expired or already used.", code="TOTP_INVALID")

    async def _spend_second_factor(self, user_id: uuid.UUID, code: str) -> bool:
        """Accept a TOTP code of an unused time step, or an unused recovery code, and spend it."""
        async with self._uow() as uow:
            repo = AuthRepository(uow.session)
            account = await repo.account(user_id)
            if account is None or account.totp_secret is None:
                return False
            if is_totp_code(code):
                secret = self._open_totp_secret(account.totp_secret, user_id)
                if secret is None:
                    return False
                step = self.totp.matching_step(secret, code)
                return step is not None and await repo.claim_totp_step(user_id, step)
            spent = await repo.use_recovery_code(user_id, self._recovery_hash(user_id, code))
            if spent:
                log.info("recovery code used", extra={"user_id": str(user_id)})
            return spent

    def _open_totp_secret(self, sealed: str, user_id: uuid.UUID) -> str | None:
        try:
            return self._totp_box.open(sealed, label=str(user_id)).decode()
        except SealedValueError:
            # WEALIST_SECRET_KEY changed since enrolment (see docs/auth.md): refuse, loudly, rather than fail.
            log.error("the TOTP secret of user %s cannot be opened with WEALIST_SECRET_KEY", user_id)
            return None

    def _recovery_hash(self, user_id: uuid.UUID, code: str) -> str:
        return self._codes_box.digest(f"{user_id}:{normalise_recovery_code(code)}")

    # ------------------------------------------------------------------------------------------- password

    async def change_password(self, principal: Principal, current: str, new: str) -> None:
        await self.limits.second_factor(principal.id)
        user_id = uuid.UUID(principal.id)
        async with self._reading() as session:
            account = await AuthRepository(session).account(user_id)
        if account is None:
            raise NotFound("You have no credentials here.", code="ACCOUNT_NOT_FOUND")
        if account.password_hash is None:
            raise Conflict(
                "This account signs in through an identity provider and has no password.",
                code="PASSWORD_NOT_SET",
            )
        if not await self.hasher.verify(account.password_hash, current):
            raise Forbidden("The current password is wrong.", code="WRONG_PASSWORD")
        check_password(new, email=account.email, field="newPassword")
        if new == current:
            raise ValidationProblem(
                "The new password must differ from the current one.",
                code="WEAK_PASSWORD",
                errors=[{"field": "body.newPassword", "message": "unchanged", "type": "unchanged"}],
                extra={"rule": "unchanged"},
            )
        await self._store_password(user_id, await self.hasher.hash(new), changed=True)
        ended = await self.sessions.revoke_all(principal.id, keep=principal.session_id)
        log.info("password changed", extra={"user_id": principal.id, "sessions_ended": ended})

    async def _store_password(self, user_id: uuid.UUID, password_hash: str, *, changed: bool) -> None:
        async with self._uow() as uow:
            account = await AuthRepository(uow.session).account(user_id)
            if account is not None:
                account.password_hash = password_hash
                if changed:
                    account.password_changed_at = utcnow()

    # ----------------------------------------------------------------------------------------------- TOTP

    async def totp_enroll(self, principal: Principal) -> TotpEnrollment:
        user_id = uuid.UUID(principal.id)
        secret = self.totp.new_secret()
        async with self._uow() as uow:
            account = await self._own_account(AuthRepository(uow.session), user_id)
            if account.totp_secret is not None:
                raise Conflict("Two-factor sign-in is already on; turn it off first.", code="TOTP_ENABLED")
            account.totp_pending_secret = self._totp_box.seal(secret.encode(), label=str(user_id))
            email = account.email
        return TotpEnrollment(secret=secret, otpauth_uri=self.totp.uri(secret, email))

    async def totp_confirm(self, principal: Principal, code: str) -> RecoveryCodes:
        await self.limits.second_factor(principal.id)
        user_id = uuid.UUID(principal.id)
        codes = new_recovery_codes()
        async with self._uow() as uow:
            repo = AuthRepository(uow.session)
            account = await self._own_account(repo, user_id)
            if account.totp_pending_secret is None:
                raise Conflict("Start with POST /api/auth/totp/enroll.", code="TOTP_NOT_ENROLLING")
            secret = self._open_totp_secret(account.totp_pending_secret, user_id)
            step = self.totp.matching_step(secret, code) if secret is not None else None
            if step is None:
                raise Forbidden("The code is wrong or expired.", code="TOTP_INVALID")
            account.totp_secret = account.totp_pending_secret
            account.totp_pending_secret = None
            account.totp_last_step = step
            account.totp_enabled_at = utcnow()
            await repo.replace_recovery_codes(user_id, [self._recovery_hash(user_id, c) for c in codes])
        log.info("two-factor sign-in enabled", extra={"user_id": principal.id})
        return RecoveryCodes(recovery_codes=codes)

    async def totp_disable(self, principal: Principal, code: str) -> None:
        await self.limits.second_factor(principal.id)
        user_id = uuid.UUID(principal.id)
        if not await self.has_second_factor(user_id):
            raise Conflict("Two-factor sign-in is not on.", code="TOTP_NOT_ENABLED")
        if not await self._spend_second_factor(user_id, code):
            raise Forbidden("The code is wrong, expired or already used.", code="TOTP_INVALID")
        async with self._uow() as uow:
            repo = AuthRepository(uow.session)
            account = await self._own_account(repo, user_id)
            account.totp_secret = account.totp_pending_secret = None
            account.totp_last_step = None
            account.totp_enabled_at = None
            await repo.delete_recovery_codes(user_id)
        log.info("two-factor sign-in disabled", extra={"user_id": principal.id})

    @staticmethod
    async def _own_account(repo: AuthRepository, user_id: uuid.UUID) -> Account:
        account = await repo.account(user_id)
        if account is None:
            raise NotFound("You have no credentials here.", code="ACCOUNT_NOT_FOUND")
        return account
