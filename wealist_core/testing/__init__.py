"""The test toolkit of plugin authors: a pytest plugin and the helpers its fixtures are made of.

Enable it in the ``conftest.py`` at the root of the tests (pytest reads ``pytest_plugins`` only there)::

    pytest_plugins = ["wealist_core.testing"]

then name the plugins under test and use the fixtures::

    @pytest.fixture
    def wealist_plugins():
        return [NotesPlugin]

    async def test_a_note_is_created(wealist_client, wealist_events) -> None:
        ada = uuid.uuid4()
        answer = await wealist_client.post("/api/notes", json={"text": "hi"}, headers=headers_for(ada))
        assert answer.status_code == 201
        await wealist_events.wait_for("notes.note_added", authorId=str(ada))

The plugin is not registered as a ``pytest11`` entry point: a project opts in, and nothing changes for the
tests of a project that merely has Wealist installed. The fixtures are listed in
:mod:`wealist_core.testing.fixtures`; the helpers below serve tests that build their own applications.

PYTEST_DONT_REWRITE: a root ``conftest.py`` may import these helpers before pytest registers the plugin,
which would otherwise be an "already imported" warning (an error under ``-W error``); the helpers' own
assertions carry their messages.
"""

from __future__ import annotations

from wealist_core.testing._servers import (
    create_database,
    drop_database,
    empty_database,
    flush_redis,
    require_server,
    s3_bucket_url,
    start_s3_server,
)
from wealist_core.testing.apps import build_app, client_for, installed_adapters, plugin_named, running
from wealist_core.testing.assertions import assert_problem
from wealist_core.testing.auth import (
    TEST_TOKEN_PREFIX,
    TestAuthPlugin,
    bearer_credential,
    headers_for,
    token_for,
)
from wealist_core.testing.blobs import send_presigned
from wealist_core.testing.events import EventRecorder
from wealist_core.testing.fixtures import (
    on_both_backends,
    wealist_adapters,
    wealist_app,
    wealist_backend,
    wealist_client,
    wealist_events,
    wealist_infrastructure,
    wealist_plugins,
    wealist_postgres_admin_url,
    wealist_postgres_database,
    wealist_postgres_url,
    wealist_redis_url,
    wealist_s3_endpoint,
    wealist_settings,
    wealist_settings_factory,
)
from wealist_core.testing.probe import Probe, assert_routes_need_a_token, plugin_routes, probe_routes
from wealist_core.testing.settings import BACKENDS, hermetic_settings, real_infrastructure, with_options

__all__ = [
    "BACKENDS",
    "TEST_TOKEN_PREFIX",
    "EventRecorder",
    "Probe",
    "TestAuthPlugin",
    "assert_problem",
    "assert_routes_need_a_token",
    "bearer_credential",
    "build_app",
    "client_for",
    "create_database",
    "drop_database",
    "empty_database",
    "flush_redis",
    "headers_for",
    "hermetic_settings",
    "installed_adapters",
    "on_both_backends",
    "plugin_named",
    "plugin_routes",
    "probe_routes",
    "real_infrastructure",
    "require_server",
    "running",
    "s3_bucket_url",
    "send_presigned",
    "start_s3_server",
    "token_for",
    "wealist_adapters",
    "wealist_app",
    "wealist_backend",
    "wealist_client",
    "wealist_events",
    "wealist_infrastructure",
    "wealist_plugins",
    "wealist_postgres_admin_url",
    "wealist_postgres_database",
    "wealist_postgres_url",
    "wealist_redis_url",
    "wealist_s3_endpoint",
    "wealist_settings",
    "wealist_settings_factory",
    "with_options",
]
