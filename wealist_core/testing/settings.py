"""Settings for tests: hermetic (nothing read from the environment, no entry-point plugins), in a data
directory of the test's own, and the two infrastructures every suite runs on."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from wealist_core.settings import Settings
from wealist_core.testing._servers import s3_bucket_url, start_s3_server

__all__ = ["BACKENDS", "hermetic_settings", "real_infrastructure", "shared_s3_endpoint", "with_options"]

#: The backends a suite runs on: the embedded defaults (SQLite file, ``memory://``, local files) and the
#: real servers (PostgreSQL, Redis).
BACKENDS = ("embedded", "real")


def hermetic_settings(data_dir: Path, **values: Any) -> Settings:
    """Settings that read nothing from the environment and load no plugin by entry point, with fixed
    secrets and ``data_dir`` holding the embedded state; ``values`` override any field."""
    base: dict[str, Any] = {
        "data_dir": data_dir,
        "autoload": False,
        "environment": "test",
        "service_token": "test-service-token",
        "secret_key": "test-secret-key",
        "log_format": "text",
    }
    if "blobstore_url" not in values and os.environ.get("WEALIST_TEST_BLOBSTORE", "").lower() == "s3":
        base["blobstore_url"] = s3_bucket_url(shared_s3_endpoint())
    base.update(values)
    return Settings.load({}, **base)


_S3_ENDPOINT: list[str] = []


def shared_s3_endpoint() -> str:
    """The S3 server tests share in this process, started (moto, free port) on first use; it stops with
    the process. ``WEALIST_TEST_S3_ENDPOINT`` names an outside one instead."""
    if not _S3_ENDPOINT:
        endpoint, _stop = start_s3_server()
        _S3_ENDPOINT.append(endpoint)
    return _S3_ENDPOINT[0]


def real_infrastructure(database_url: str, redis_url: str) -> dict[str, Any]:
    """The settings values that put every port on PostgreSQL and Redis, migrated at start."""
    return {
        "database_url": database_url,
        "keyvalue_url": redis_url,
        "pubsub_url": redis_url,
        "eventbus_url": redis_url,
        "auto_migrate": True,
    }


def with_options(
    settings: Settings, plugin: str, options: Mapping[str, object] | None = None, /, **more: object
) -> Settings:
    """``settings`` with plugin options added, as ``WEALIST_<PLUGIN>__<NAME>=value`` would give them:
    ``with_options(settings, "auth", argon2_time_cost=1)``. Options already set for the plugin stay unless
    named again."""
    given = {**(options or {}), **more}
    merged = dict(settings.overrides.get(plugin, {}))
    merged.update({name.lower(): str(value) for name, value in given.items()})
    return settings.model_copy(update={"overrides": {**settings.overrides, plugin: merged}})
