"""Passwords: the rules a new password must follow, Argon2id hashing, and email normalisation.

The rules follow NIST SP 800-63B: a length floor and ceiling and a check against passwords known to be
common, no composition rules. A broken rule is a 422 ``WEAK_PASSWORD`` whose ``rule`` says which one.
"""

from __future__ import annotations

import asyncio
import functools
import secrets
from importlib import resources

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError
from email_validator import EmailNotValidError, validate_email

from wealist_core import ValidationProblem

__all__ = ["MAX_LENGTH", "MIN_LENGTH", "PasswordHasher", "check_password", "normalise_email", "valid_email"]

MIN_LENGTH = 8
MAX_LENGTH = 128  # Argon2 takes any length; the ceiling keeps a request from buying seconds of CPU


@functools.cache
def _common_passwords() -> frozenset[str]:
    text = resources.files(__package__).joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


def _weak(rule: str, detail: str, field: str) -> ValidationProblem:
    return ValidationProblem(
        detail,
        code="WEAK_PASSWORD",
        errors=[{"field": f"body.{field}", "message": detail, "type": rule}],
        extra={"rule": rule},
    )


def check_password(password: str, *, email: str, field: str = "password") -> None:
    """Raise a 422 ``WEAK_PASSWORD`` naming the first rule ``password`` breaks."""
    if len(password) < MIN_LENGTH:
        raise _weak("min_length", f"The password must have at least {MIN_LENGTH} characters.", field)
    if len(password) > MAX_LENGTH:
        raise _weak("max_length", f"The password must have at most {MAX_LENGTH} characters.", field)
    folded = password.strip().lower()
    if folded == email.strip().lower() or folded == email.strip().lower().partition("@")[0]:
        raise _weak("equals_email", "The password must not be your email address.", field)
    if folded in _common_passwords():
        raise _weak("common", "This password is among the most common ones; choose another.", field)


def normalise_email(raw: str) -> str:
    """Trimmed and lower-cased: the form the user plugin stores (its ``Directory`` contract says so)."""
    return raw.strip().lower()


def valid_email(raw: str, *, field: str = "email") -> str:
    """The normalised address, or a 422 ``INVALID_EMAIL`` saying what is wrong with it."""
    email = normalise_email(raw)
    try:
        validate_email(email, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValidationProblem(
            f"{field}: {exc}", code="INVALID_EMAIL", errors=[{"field": f"body.{field}", "message": str(exc)}]
        ) from None
    return email


class PasswordHasher:
    """Argon2id with the configured cost, run off the event loop (a production hash takes ~100 ms of CPU).

    ``dummy_verify`` spends the same time as a real check: sign-in runs it when the email is unknown, so
    the answer's timing does not tell whether an account exists.
    """

    def __init__(self, *, time_cost: int, memory_cost: int, parallelism: int) -> None:
        self._hasher = Argon2Hasher(
            time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism, type=Type.ID
        )
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, stored: str, password: str) -> bool:
        return await asyncio.to_thread(self._verify, stored, password)

    async def dummy_verify(self, password: str) -> None:
        await self.verify(self._dummy, password)

    def needs_rehash(self, stored: str) -> bool:
        """Whether ``stored`` was made with another cost: it is upgraded at the next successful sign-in."""
        try:
            return self._hasher.check_needs_rehash(stored)
        except InvalidHashError:
            return True

    def _verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return False
