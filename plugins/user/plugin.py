"""The user plugin's hook implementations: wiring only, the rules live in the services."""

from __future__ import annotations

import argparse
from pathlib import Path

from starlette.routing import BaseRoute
from wealist_plugins.user.contract import Directory
from wealist_plugins.user.models import metadata
from wealist_plugins.user.services import UserServices

from wealist_core import Container, Job, ModelRegistration, PluginError, PluginManifest, Settings, hookimpl

__all__ = ["UserPlugin"]

__version__ = "0.1.0"


class UserPlugin:
    """Users, workspaces, members and roles, invitations, join requests and profiles; provides
    ``user.Directory``."""

    def __init__(self) -> None:
        self._services: UserServices | None = None

    @property
    def services(self) -> UserServices:
        if self._services is None:
            raise PluginError("The user plugin is used before wealist_configure built its services.")
        return self._services

    @hookimpl
    def wealist_plugin_manifest(self) -> PluginManifest:
        return PluginManifest(
            name="user",
            version=__version__,
            description="Users, workspaces, members and roles, invitations, join requests and profiles.",
            prefixes=("/api/users", "/api/workspaces", "/api/profiles"),
            ports=("database", "mailer", "blobstore"),
            provides=("user.Directory",),
        )

    @hookimpl
    def wealist_configure(self, settings: Settings, container: Container) -> None:
        self._services = UserServices.build(settings, container)
        container.contracts.provide(Directory, self._services.directory)

    @hookimpl
    def wealist_register_models(self) -> list[ModelRegistration]:
        return [ModelRegistration("user", metadata, Path(__file__).with_name("migrations"))]

    @hookimpl
    def wealist_register_routes(self) -> list[BaseRoute]:
        from wealist_plugins.user.routes import build_routes

        return build_routes(self.services)

    @hookimpl
    def wealist_register_commands(self, cli: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
        from wealist_plugins.user.demo import add_command

        add_command(cli)

    @hookimpl
    def wealist_register_jobs(self) -> list[Job]:
        from wealist_plugins.user.jobs import user_jobs

        return list(user_jobs(self.services.options, self.services.profiles.uploads))
