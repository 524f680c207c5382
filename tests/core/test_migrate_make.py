"""``wealist migrate --make PLUGIN -m MESSAGE``: a plugin's next revision, written from its models.

A toy "polls" plugin under development (loaded by import path, its migrations folder in the test's folder)
goes from no migrations to a first revision, then gains a column and gets a second one; the revisions it got
are then applied to a database, which ends up matching the models.
"""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from wealist_adapters.sqlite.database import SqliteDatabase

from wealist_core import ModelRegistration
from wealist_core.cli import main
from wealist_core.migrations import current, describe_differences, differences, upgrade

POLLS_PLUGIN = """
import os
from pathlib import Path

from sqlalchemy import Column, DateTime, Integer, String, Table

from wealist_core import ModelRegistration, PluginManifest, hookimpl, plugin_metadata


def registration():
    metadata = plugin_metadata()
    columns = [Column("id", Integer, primary_key=True), Column("question", String(200), nullable=False)]
    if os.environ.get("POLLS_WITH_CLOSES_AT"):
        columns.append(Column("closes_at", DateTime(timezone=True), nullable=True))
    Table("polls_poll", metadata, *columns)
    return ModelRegistration("polls", metadata, Path(os.environ["POLLS_MIGRATIONS"]))


class PollsPlugin:
    @hookimpl
    def wealist_plugin_manifest(self):
        return PluginManifest("polls", prefixes=("/api/polls",), ports=("database",))

    @hookimpl
    def wealist_register_models(self):
        return [registration()]
"""


@pytest.fixture
def polls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """A clean WEALIST_* environment with the polls plugin importable; its migrations folder."""
    for name in list(os.environ):
        if name.startswith("WEALIST_"):
            monkeypatch.delenv(name)
    (tmp_path / "polls_plugin.py").write_text(textwrap.dedent(POLLS_PLUGIN))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("WEALIST_AUTOLOAD", "false")
    monkeypatch.setenv("WEALIST_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("WEALIST_PLUGIN_MODULES", "polls_plugin:PollsPlugin")
    monkeypatch.setenv("WEALIST_ADAPTER_MODULES", "wealist_adapters.sqlite,wealist_adapters.memory")
    monkeypatch.setenv("POLLS_MIGRATIONS", str(tmp_path / "migrations"))
    yield tmp_path / "migrations"
    sys.modules.pop("polls_plugin", None)  # its file lives in this test's tmp_path


def make(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(["migrate", *argv])
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_revisions_follow_the_models_and_bring_a_database_in_step(
    polls: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    status, out, _ = make(capsys, "--make", "polls", "-m", "create polls")

    first = polls / "versions" / "0001_create_polls.py"
    assert status == 0 and out.splitlines() == [f"Wrote {first}", "  add table polls_poll"]
    source = first.read_text()
    assert 'revision: str = "polls_0001"' in source or "revision: str = 'polls_0001'" in source
    assert "('polls',)" in source  # the plugin's own branch
    assert "create_outbox_table(op, 'polls')" in source and "drop_outbox_table(op, 'polls')" in source
    assert (polls / "env.py").read_text().strip().endswith("run_env()")

    status, out, _ = make(capsys, "--make", "polls", "-m", "nothing new")
    assert status == 0 and out.startswith("No changes: the models of 'polls' match its migrations")
    assert sorted(p.name for p in (polls / "versions").glob("*.py")) == ["0001_create_polls.py"]

    monkeypatch.setenv("POLLS_WITH_CLOSES_AT", "1")
    status, out, _ = make(capsys, "--make", "polls", "-m", "polls close")
    second = polls / "versions" / "0002_polls_close.py"
    assert status == 0 and out.splitlines() == [f"Wrote {second}", "  add column polls_poll.closes_at"]
    assert "polls_0001" in second.read_text() and "create_outbox_table(op" not in second.read_text()

    # What was written migrates a real database to the models, outbox included.
    import polls_plugin

    registration: ModelRegistration = polls_plugin.registration()
    database = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'applied.db'}")

    async def apply() -> tuple[tuple[str, ...], list[str]]:
        await database.start()
        try:
            await upgrade(database, registration)
            async with database.unit_of_work(plugin="polls") as uow:
                uow.emit("polls.poll_created", {"question": "Lunch?"})
            return await current(database, registration), describe_differences(
                await differences(database, registration)
            )
        finally:
            await database.close()

    assert asyncio.run(apply()) == (("polls_0002",), [])


def test_an_empty_revision_on_request(polls: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert make(capsys, "--make", "polls", "-m", "create polls")[0] == 0

    status, out, _ = make(capsys, "--make", "polls", "-m", "backfill questions", "--empty")

    blank = polls / "versions" / "0002_backfill_questions.py"
    assert status == 0 and out.splitlines() == [f"Wrote {blank}"]
    assert "def upgrade() -> None:\n    pass" in blank.read_text()


@pytest.mark.parametrize(
    ("argv", "sentence"),
    [
        (["--make", "pols", "-m", "x"], "No installed plugin is named 'pols'; installed plugins: polls."),
        (
            ["--make", "polls"],
            'Say what the revision does: wealist migrate --make PLUGIN -m "add due dates".',
        ),
    ],
)
def test_mistakes_are_one_sentence_and_status_2(
    polls: Path, capsys: pytest.CaptureFixture[str], argv: list[str], sentence: str
) -> None:
    status, out, err = make(capsys, *argv)
    assert (status, out, err.strip()) == (2, "", f"wealist: {sentence}")
    assert not polls.exists()
