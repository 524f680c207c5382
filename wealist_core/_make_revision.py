"""``wealist migrate --make PLUGIN -m MESSAGE``: write the revision that brings a plugin's migrations in
step with its models.

Autogenerate compares the models with a database at the plugin's heads. By default that database is a
throwaway SQLite file, upgraded from nothing: no server is needed and no real data is touched, and what it
proposes is what the migrations lack (not what some database happens to hold). A plugin whose models use
PostgreSQL-only types passes ``--database-url`` of a scratch PostgreSQL database, which is upgraded first.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from wealist_core.container import Container
from wealist_core.db import ModelRegistration
from wealist_core.errors import PluginError
from wealist_core.manifest import PluginManifest
from wealist_core.migrations import describe_differences, differences, revision, upgrade
from wealist_core.plugins import PluginHost
from wealist_core.settings import Settings

__all__ = ["make_revision", "registration_of"]


def registration_of(host: PluginHost, plugin: str) -> ModelRegistration:
    """The one model registration of the installed plugin ``plugin``, or a ``PluginError`` saying why not."""
    if plugin not in host.active:
        known = ", ".join(sorted(host.active)) or "none"
        raise PluginError(f"No installed plugin is named '{plugin}'; installed plugins: {known}.")
    registrations = host.per_plugin("wealist_register_models")[plugin]
    if not registrations:
        raise PluginError(
            f"Plugin '{plugin}' registers no models (wealist_register_models): nothing to migrate."
        )
    if len(registrations) > 1:
        raise PluginError(f"Plugin '{plugin}' registers {len(registrations)} model sets; register one.")
    found: ModelRegistration = registrations[0]
    return found


async def make_revision(
    settings: Settings, plugin: str, message: str, *, empty: bool = False, database_url: str = ""
) -> tuple[Path | None, list[str]]:
    """Write the plugin's next revision; ``(its file, the changes it carries)``, or ``(None, [])`` when the
    models and the migrations already agree (and ``empty`` does not ask for a blank revision)."""
    host = PluginHost(settings.model_copy(update={"plugins": ()}), check=False)
    registration = registration_of(host, plugin)
    with tempfile.TemporaryDirectory(prefix="wealist-make-") as scratch:
        # Only the database: the plugin's other ports (a real Redis, a bucket) play no part in a revision.
        local = Settings.load(
            {},
            data_dir=Path(scratch),
            database_url=database_url or f"sqlite+aiosqlite:///{scratch}/scratch.db",
        )
        container = Container(local, host.adapters, [PluginManifest(name=plugin, ports=("database",))])
        await container.start()
        try:
            database = container.database(plugin)
            if registration.migrations is not None and (Path(registration.migrations) / "env.py").is_file():
                await upgrade(database, registration)
            changes = describe_differences(await differences(database, registration))
            if not changes and not empty:
                return None, []
            path = await revision(database, registration, message, autogenerate=not empty)
        finally:
            await container.close()
    return path, changes
