"""Queries on the auth tables. Repositories never commit: the service's unit of work does."""

from __future__ import annotations

import uuid
from typing import Any, cast

from sqlalchemy import CursorResult, Result, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from wealist_plugins.auth.models import Account, Identity, RecoveryCode

from wealist_core import utcnow

__all__ = ["AuthRepository"]


def _changed_one(result: Result[Any]) -> bool:
    """Whether a conditional UPDATE changed exactly one row (the condition held)."""
    return cast("CursorResult[Any]", result).rowcount == 1


class AuthRepository:
    """Accounts, recovery codes and identities, on one unit of work's session."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    # ------------------------------------------------------------------------------------------- accounts

    async def account(self, user_id: uuid.UUID) -> Account | None:
        return await self.session.get(Account, user_id)

    async def account_by_email(self, email: str) -> Account | None:
        return await self.session.scalar(select(Account).where(Account.email == email))

    async def add_account(self, account: Account) -> None:
        """Insert now, so a taken email or id fails here (``IntegrityError``) rather than at commit."""
        self.session.add(account)
        await self.session.flush()

    async def claim_totp_step(self, user_id: uuid.UUID, step: int) -> bool:
        """Record ``step`` as the last one used, unless it (or a later one) was used already."""
        result = await self.session.execute(
            update(Account)
            .where(
                Account.user_id == user_id,
                or_(Account.totp_last_step.is_(None), Account.totp_last_step < step),
            )
            .values(totp_last_step=step, updated_at=utcnow())
        )
        return _changed_one(result)

    # ------------------------------------------------------------------------------------- recovery codes

    async def replace_recovery_codes(self, user_id: uuid.UUID, hashes: list[str]) -> None:
        await self.delete_recovery_codes(user_id)
        self.session.add_all(RecoveryCode(user_id=user_id, code_hash=h) for h in hashes)
        await self.session.flush()

    async def delete_recovery_codes(self, user_id: uuid.UUID) -> None:
        await self.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))

    async def use_recovery_code(self, user_id: uuid.UUID, code_hash: str) -> bool:
        """Spend an unused code; False when there is none (never issued, or spent already)."""
        result = await self.session.execute(
            update(RecoveryCode)
            .where(
                RecoveryCode.user_id == user_id,
                RecoveryCode.code_hash == code_hash,
                RecoveryCode.used_at.is_(None),
            )
            .values(used_at=utcnow())
        )
        return _changed_one(result)

    async def unused_recovery_codes(self, user_id: uuid.UUID) -> int:
        count = await self.session.scalar(
            select(func.count()).where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
        )
        return int(count or 0)

    # ------------------------------------------------------------------------------------------ identities

    async def identity(self, provider: str, subject: str) -> Identity | None:
        return await self.session.scalar(
            select(Identity).where(Identity.provider == provider, Identity.subject == subject)
        )

    async def has_identity(self, user_id: uuid.UUID) -> bool:
        found = await self.session.scalar(select(Identity.id).where(Identity.user_id == user_id).limit(1))
        return found is not None

    async def add_identity(self, identity: Identity) -> None:
        self.session.add(identity)
        await self.session.flush()
