"""``wealist auth ...``: operator commands of the auth plugin."""

from __future__ import annotations

import argparse
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from wealist_plugins.auth.keys import KeyRing, KeyStore, SigningKey
from wealist_plugins.auth.models import METADATA
from wealist_plugins.auth.options import AuthOptions
from wealist_plugins.auth.secretbox import SecretBox

from wealist_core import (
    ConfigurationError,
    ModelRegistration,
    PluginManifest,
    Settings,
    ensure_secrets,  # the CLI must seal keys with the server's secret key
)
from wealist_core.commands import standalone_ports
from wealist_core.migrations import upgrade

__all__ = ["MIGRATIONS", "RotationResult", "add_commands", "key_ring", "rotate_keys"]

MIGRATIONS = Path(__file__).with_name("migrations")


@dataclass(frozen=True, slots=True)
class RotationResult:
    new: SigningKey
    published: list[SigningKey]
    keep_seconds: float


def key_ring(store: KeyStore | None, settings: AuthOptions, static: Sequence[SigningKey] = ()) -> KeyRing:
    return KeyRing(
        store=store,
        static=static,
        access_ttl=settings.tokens.access_ttl + settings.tokens.leeway,
        retention=settings.key_retention,
        reload_interval=settings.key_reload_interval,
        production=settings.production,
    )


async def rotate_keys(settings: Settings, *, adapters: Sequence[object] = ()) -> RotationResult:
    """Add a new current signing key to the auth database and drop keys no live token can need."""
    settings = ensure_secrets(settings)
    config = AuthOptions.from_settings(settings)
    if config.signing_key:
        raise ConfigurationError(
            "WEALIST_AUTH__SIGNING_KEY is set, so keys come from settings: put the new key there and the old "
            "one in WEALIST_AUTH__VERIFICATION_KEYS until its tokens expire."
        )
    manifest = PluginManifest("auth", ports=("database",))
    async with standalone_ports(settings, manifest, adapters=adapters) as container:
        database = container.database("auth")
        await upgrade(database, ModelRegistration("auth", METADATA, MIGRATIONS))
        ring = key_ring(KeyStore(database, SecretBox(settings.secret_key, "signing-keys")), config)
        new = await ring.rotate()
        return RotationResult(new, ring.published(), config.tokens.access_ttl + config.key_retention)


async def _rotate_command(args: argparse.Namespace) -> int:
    result = await rotate_keys(Settings.load())
    print(f"New signing key: {result.new.kid}")
    for key in result.published:
        if key.kid != result.new.kid:
            until = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=result.keep_seconds)
            print(f"Still published until about {until:%Y-%m-%d %H:%M} UTC: {key.kid}")
    print("Running processes pick the new key up within WEALIST_AUTH__KEY_RELOAD_INTERVAL seconds.")
    return 0


def add_commands(cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    auth = cli.add_parser("auth", help="auth plugin: signing keys")
    commands = auth.add_subparsers(dest="auth_command", required=True)
    rotate = commands.add_parser(
        "rotate-keys",
        help="add a new signing key; the old one stays published until the tokens it signed expire",
    )
    rotate.set_defaults(func=_rotate_command)
