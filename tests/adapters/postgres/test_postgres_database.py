"""What the PostgreSQL adapter adds to the Database contract: URL spellings and pool settings."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest
from sqlalchemy import text
from wealist_adapters.postgres.database import PostgresDatabase

from wealist_core import AdapterError


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+asyncpg"])
async def test_every_spelling_runs_on_asyncpg(scheme: str) -> None:
    database = PostgresDatabase(f"{scheme}://user:pw@db.example:5433/wealist")
    try:
        assert database.url == "postgresql+asyncpg://user:pw@db.example:5433/wealist"
        assert repr(database) == "PostgresDatabase('postgresql+asyncpg://user:***@db.example:5433/wealist')"
    finally:
        await database.close()


async def test_pool_settings_come_from_the_query_and_leave_the_rest_to_asyncpg() -> None:
    database = PostgresDatabase("postgresql://u@h/db?pool_size=3&max_overflow=1&sslmode=require")
    try:
        assert database.url == "postgresql+asyncpg://u@h/db?ssl=require"
        pool = database.engine.pool
        assert (pool.size(), pool._max_overflow) == (3, 1)  # type: ignore[attr-defined]
    finally:
        await database.close()


async def test_a_bad_pool_setting_is_a_configuration_error() -> None:
    with pytest.raises(AdapterError, match="pool_size=many"):
        PostgresDatabase("postgresql://u@h/db?pool_size=many", setting="WEALIST_BOARD__DATABASE_URL")


async def test_connections_survive_a_server_side_disconnect(postgres_url: str) -> None:
    database = PostgresDatabase(postgres_url)
    database.ping_after_idle = 0.0  # what a connection unused for a while gets: a ping at checkout
    await database.start()
    try:
        async with database.engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
        # Kill the pooled connection from outside, as a database restart or failover would.
        killer = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        await database.check()  # pre-ping replaced the dead connection: no error reaches the caller
        async with database.unit_of_work() as uow:
            assert (await uow.session.execute(text("SELECT 1"))).scalar_one() == 1
    finally:
        await database.close()


async def test_a_busy_connection_the_server_hung_up_on_is_replaced_without_a_ping(postgres_url: str) -> None:
    database = PostgresDatabase(postgres_url)
    database.ping_after_idle = 3600.0  # never pinged: only the hang-up itself can tell
    await database.start()
    try:
        async with database.engine.connect() as connection:
            pid = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
            raw = (await connection.get_raw_connection()).driver_connection
        killer = await asyncpg.connect(postgres_url.replace("postgresql+asyncpg://", "postgresql://"))
        try:
            assert await killer.fetchval("SELECT pg_terminate_backend($1)", pid)
        finally:
            await killer.close()
        for _ in range(200):  # the backend exits and its hang-up reaches this client
            if raw.is_closed():
                break
            await asyncio.sleep(0.01)
        assert raw.is_closed()
        async with database.unit_of_work() as uow:
            assert (await uow.session.execute(text("SELECT pg_backend_pid()"))).scalar_one() != pid
    finally:
        await database.close()
