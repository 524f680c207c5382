"""Secrets of an embedded installation, generated on first start and kept under the data directory."""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

from wealist_core.errors import ConfigurationError
from wealist_core.settings import Settings

__all__ = ["ensure_secrets"]

_GENERATED = ("service_token", "secret_key")


def ensure_secrets(settings: Settings) -> Settings:
    """Settings with ``service_token`` and ``secret_key`` filled in.

    In production both must be given (the processes of a deployment must agree on them). Elsewhere the
    missing ones are generated once into ``<data_dir>/secrets.json`` (mode 0600), so every process that
    shares the data directory, such as a split run on a laptop, agrees on them too.
    """
    missing = [name for name in _GENERATED if not getattr(settings, name)]
    if not missing:
        return settings
    if settings.environment == "production":
        name = f"WEALIST_{missing[0].upper()}"
        raise ConfigurationError(
            f"{name} is empty; in production set it to the same random value in every process, e.g. the "
            "output of: python -c 'import secrets; print(secrets.token_urlsafe(32))'."
        )
    path = Path(settings.data_dir) / "secrets.json"
    stored: dict[str, str] = {}
    if path.exists():
        try:
            stored = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ConfigurationError(
                f"{path} cannot be read ({exc}); delete it to generate new secrets."
            ) from exc
    changed = False
    for name in _GENERATED:
        if not stored.get(name):
            stored[name] = secrets.token_urlsafe(32)
            changed = True
    if changed:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            json.dump(stored, handle)
        os.replace(tmp, path)
    return settings.model_copy(update={name: stored[name] for name in missing})
