"""A test authenticator: ``Authorization: Bearer test:<user id>`` is that user, without the auth plugin.

Routes see the :class:`~wealist_core.Principal` a real access token would give (``kind="user"``, the id as a
string), so a plugin's tests need neither sign-up nor key material. Nothing else is accepted: any other
credential is left to the other authenticators of the application (a real access token still works when the
auth plugin runs beside it), and a ``test:`` token whose id is not a UUID is a 401.
"""

from __future__ import annotations

import uuid

from starlette.requests import HTTPConnection

from wealist_core.errors import Unauthorized
from wealist_core.hookspecs import hookimpl
from wealist_core.manifest import PluginManifest
from wealist_core.security import Principal

__all__ = ["TEST_TOKEN_PREFIX", "TestAuthPlugin", "bearer_credential", "headers_for", "token_for"]

TEST_TOKEN_PREFIX = "test:"


def bearer_credential(connection: HTTPConnection, prefix: str) -> str | None:
    """What follows ``Bearer <prefix>`` in the ``Authorization`` header; None when the header holds
    something else (another authenticator's credential, or none)."""
    scheme, _, credential = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not credential.startswith(prefix):
        return None
    return credential[len(prefix) :]


def token_for(user_id: uuid.UUID | str) -> str:
    """The bearer token :class:`TestAuthPlugin` reads as ``user_id`` (also the AUTH frame of a socket)."""
    return f"{TEST_TOKEN_PREFIX}{uuid.UUID(str(user_id))}"


def headers_for(user_id: uuid.UUID | str) -> dict[str, str]:
    """The request headers of ``user_id``: ``client.get(url, headers=headers_for(ada))``."""
    return {"Authorization": f"Bearer {token_for(user_id)}"}


class TestAuthPlugin:
    """Authenticates :func:`token_for` tokens: the generic stand-in for the auth plugin in tests."""

    __test__ = False  # a class named Test* imported into a test module is not a test class

    name = "test_auth"

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(name=self.name, description="Bearer test:<user id> is that user (tests only).")

    # First, so that an authenticator which refuses every bearer token it cannot verify (the auth plugin's
    # verifier) never sees a test token.
    @hookimpl(tryfirst=True)
    def wealist_authenticate(self, request: HTTPConnection) -> Principal | None:
        credential = bearer_credential(request, TEST_TOKEN_PREFIX)
        if credential is None:
            return None
        try:
            return Principal(id=str(uuid.UUID(credential)))
        except ValueError:
            raise Unauthorized(
                f"A test token is 'test:<user id>' with a UUID, not {credential!r}.",
                code="TEST_TOKEN_INVALID",
            ) from None
