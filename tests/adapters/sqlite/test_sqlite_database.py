"""What the SQLite adapter adds to the Database contract: URLs, its folder, and its connection settings."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from wealist_adapters.sqlite.database import SqliteDatabase

from wealist_core import AdapterError


async def test_plain_sqlite_url_runs_on_aiosqlite_and_creates_its_folder(tmp_path: Path) -> None:
    path = tmp_path / "data" / "nested" / "wealist.db"
    database = SqliteDatabase(f"sqlite:///{path}")
    assert database.url == f"sqlite+aiosqlite:///{path}"
    try:
        await database.start()
        assert path.exists()
    finally:
        await database.close()


async def test_every_connection_gets_wal_foreign_keys_and_a_busy_timeout(tmp_path: Path) -> None:
    database = SqliteDatabase(f"sqlite+aiosqlite:///{tmp_path / 'wealist.db'}", busy_timeout_ms=1234)
    await database.start()
    try:
        async with database.unit_of_work() as uow:
            pragmas = {
                name: (await uow.session.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "foreign_keys", "busy_timeout", "synchronous")
            }
    finally:
        await database.close()
    assert pragmas == {"journal_mode": "wal", "foreign_keys": 1, "busy_timeout": 1234, "synchronous": 1}


@pytest.mark.parametrize(
    "url", ["sqlite+aiosqlite://", "sqlite+aiosqlite:///:memory:", "postgresql://x/y", "not a url"]
)
def test_urls_that_cannot_hold_a_shared_database_are_refused(url: str) -> None:
    with pytest.raises(
        AdapterError, match=r"^WEALIST_DATABASE_URL is .*sqlite\+aiosqlite:///data/wealist\.db"
    ):
        SqliteDatabase(url)
