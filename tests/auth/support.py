"""What the auth tests share, on the toolkits of the core, the user plugin and the auth plugin: app builders,
an in-memory Directory provider, and small HTTP helpers."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from wealist_plugins.auth.plugin import AuthPlugin
from wealist_plugins.auth.testing import (
    PASSWORD,
    TEST_OPTIONS,
    bearer,
    login,
    signup,
    unique_email,
    with_test_options,
)
from wealist_plugins.auth.verifier import TokenVerifierPlugin
from wealist_plugins.user.contract import Directory
from wealist_plugins.user.plugin import UserPlugin
from wealist_plugins.user.testing import InMemoryDirectory, InMemoryUserPlugin

from tests.plugins.whoami import WhoAmIPlugin
from wealist_core import Settings
from wealist_core.testing import assert_problem, build_app, installed_adapters, plugin_named, running

__all__ = [
    "ADAPTERS",
    "PASSWORD",
    "TEST_OPTIONS",
    "FakeUserPlugin",
    "assert_problem",
    "auth_plugin",
    "bearer",
    "directory",
    "fake_directory",
    "login",
    "monolith",
    "running",
    "settings_for",
    "signup",
    "unique_email",
]

ADAPTERS: Sequence[object] = installed_adapters()
#: A user plugin whose Directory a test fills by hand (users with any creation time).
FakeUserPlugin = InMemoryUserPlugin


def settings_for(settings_factory: Any, backend: dict[str, Any], **options: str) -> Settings:
    """Test settings on ``backend`` with auth options ``options`` (over the toolkit's test options)."""
    return with_test_options(settings_factory(**backend), **options)


def monolith(settings: Settings, *extra: object, user: object = UserPlugin) -> Starlette:
    """The user and auth plugins, the verifier and the whoami toy in one application (real tokens only: no
    test authenticator)."""
    return build_app(
        settings,
        [user, AuthPlugin, TokenVerifierPlugin, WhoAmIPlugin, *extra],
        adapters=ADAPTERS,
        test_auth=False,
        record=False,
    )


def auth_plugin(app: Starlette) -> AuthPlugin:
    plugin = plugin_named(app, "auth")
    assert isinstance(plugin, AuthPlugin)
    return plugin


def directory(app: Starlette) -> Directory:
    """The user plugin's ``Directory``, as auth sees it."""
    found: Directory = app.state.wealist.container.contracts.get(Directory)
    return found


def fake_directory(app: Starlette) -> InMemoryDirectory:
    plugin = plugin_named(app, "user")
    assert isinstance(plugin, InMemoryUserPlugin)
    return plugin.directory
