"""Keyset pagination on a real table, on SQLite and PostgreSQL, through real HTTP routes."""

from __future__ import annotations

import base64
import datetime as dt
import json
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import DateTime, Select, String, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from starlette.applications import Starlette

from wealist_core import UtcDateTime
from wealist_core.http import ApiModel, ApiRoute
from wealist_core.http.problems import exception_handlers
from wealist_core.pagination import (
    KeyColumn,
    Keyset,
    Page,
    PageQuery,
    Window,
    WindowQuery,
    keyset,
)

ROWS = 300
T0 = dt.datetime(2026, 3, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class Item(Base):
    __tablename__ = "pagination_item"

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    created_at: Mapped[dt.datetime] = mapped_column(UtcDateTime())
    day: Mapped[dt.date]
    rank: Mapped[int]
    name: Mapped[str] = mapped_column(String(20))
    note: Mapped[str | None] = mapped_column(String(20))
    # A plain zoned column: SQLite gives its values back without their zone.
    stamped_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class ItemOut(ApiModel):
    item_id: uuid.UUID
    created_at: dt.datetime


class ScrollQuery(WindowQuery):
    from_end: bool = False


def out(item: Item) -> ItemOut:
    return ItemOut(item_id=item.id, created_at=item.created_at)


OLDEST: tuple[KeyColumn, ...] = (Item.created_at, Item.id)
NEWEST: tuple[KeyColumn, ...] = (Item.created_at.desc(), Item.id)
RANKED: tuple[KeyColumn, ...] = (Item.day, Item.rank.desc(), Item.name, Item.id)
STAMPED: tuple[KeyColumn, ...] = (Item.stamped_at.desc(), Item.id)

# The same orders in Python, to know what the database must answer.
ORDERS: dict[str, tuple[tuple[KeyColumn, ...], Callable[[Item], Any]]] = {
    "oldest": (OLDEST, lambda i: (i.created_at, i.id)),
    "newest": (NEWEST, lambda i: (-(i.created_at - T0).total_seconds(), i.id)),
    "ranked": (RANKED, lambda i: (i.day, -i.rank, i.name, i.id)),
    "stamped": (STAMPED, lambda i: (-(i.stamped_at - T0).total_seconds(), i.id)),
}


def make_rows() -> list[Item]:
    # 20 distinct times for 300 rows: long runs of ties on the first key, broken by the id.
    return [
        Item(
            id=uuid.uuid4(),
            created_at=T0 + dt.timedelta(minutes=n % 20),
            day=T0.date() + dt.timedelta(days=n % 4),
            rank=n % 7,
            name=f"n{n % 5}",
            note=None,
            stamped_at=T0 + dt.timedelta(seconds=n % 10),
        )
        for n in range(ROWS)
    ]


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    # Sync, so that the async postgres_url fixture can be asked for from here.
    if request.param == "sqlite":
        return f"sqlite+aiosqlite:///{tmp_path / 'list.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    url = database_url
    engine = create_async_engine(url)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
    yield engine
    await engine.dispose()


@pytest.fixture
async def rows(engine: AsyncEngine) -> list[Item]:
    made = make_rows()
    async with AsyncSession(engine, expire_on_commit=False) as session:
        session.add_all(made)
        await session.commit()
    return made


def app_for(engine: AsyncEngine) -> Starlette:
    async def fetch(
        order: Sequence[KeyColumn], query: PageQuery, *, from_end: bool = False
    ) -> tuple[Keyset[Select[Item]], Sequence[Item]]:
        async with AsyncSession(engine) as session:
            ks = keyset(select(Item), query, order=order, from_end=from_end)
            return ks, (await session.scalars(ks.statement)).all()

    def paged(order: Sequence[KeyColumn]) -> Callable[[PageQuery], Any]:
        async def handler(query: PageQuery) -> Page[ItemOut]:
            ks, found = await fetch(order, query)
            return ks.page(found, out)

        return handler

    async def window(query: ScrollQuery) -> Window[ItemOut]:
        ks, found = await fetch(OLDEST, query, from_end=query.from_end)
        return ks.window(found, out)

    routes = [
        ApiRoute(f"/items/{name}", paged(order), auth=False, name=name) for name, (order, _) in ORDERS.items()
    ]
    routes.append(ApiRoute("/window", window, auth=False))
    return Starlette(routes=routes, exception_handlers=exception_handlers())


@pytest.fixture
async def client(engine: AsyncEngine) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app_for(engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        yield http


async def get(client: httpx.AsyncClient, path: str, **params: Any) -> dict[str, Any]:
    response = await client.get(path, params={k: v for k, v in params.items() if v is not None})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def ids(items: Sequence[Item]) -> list[str]:
    return [str(item.id) for item in items]


@pytest.mark.parametrize("name", list(ORDERS))
async def test_pages_list_every_row_once_in_the_order(
    client: httpx.AsyncClient, rows: list[Item], name: str
) -> None:
    seen: list[str] = []
    cursor: str | None = None
    for _ in range(ROWS):  # bounded: a cursor that does not move on must fail the test, not hang it
        page = await get(client, f"/items/{name}", limit=23, cursor=cursor)
        assert set(page) == {"items", "nextCursor"}
        assert 0 < len(page["items"]) <= 23
        seen += [item["itemId"] for item in page["items"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert seen == ids(sorted(rows, key=ORDERS[name][1]))


async def test_window_scrolls_back_and_forth_in_the_list_order(
    client: httpx.AsyncClient, rows: list[Item]
) -> None:
    expected = ids(sorted(rows, key=ORDERS["oldest"][1]))

    # Opened at the end, as chat history is, then scrolled back to the start.
    windows: list[dict[str, Any]] = [await get(client, "/window", limit=29, fromEnd="true")]
    assert windows[0]["nextCursor"] is None
    while windows[-1]["prevCursor"] is not None and len(windows) <= ROWS:
        windows.append(await get(client, "/window", limit=29, cursor=windows[-1]["prevCursor"]))
    backward = [item["itemId"] for w in reversed(windows) for item in w["items"]]
    assert backward == expected  # every window in the list's order, every row once

    # From the start, forward to the end; and each window's prevCursor gives the window before it.
    forward: list[dict[str, Any]] = [await get(client, "/window", limit=29)]
    assert forward[0]["prevCursor"] is None
    while forward[-1]["nextCursor"] is not None and len(forward) <= ROWS:
        forward.append(await get(client, "/window", limit=29, cursor=forward[-1]["nextCursor"]))
    assert [item["itemId"] for w in forward for item in w["items"]] == expected
    back = await get(client, "/window", limit=29, cursor=forward[3]["prevCursor"])
    assert back["items"] == forward[2]["items"]
    again = await get(client, "/window", limit=29, cursor=back["nextCursor"])
    assert again["items"] == forward[3]["items"]


async def test_times_keep_their_zone_and_microseconds(client: httpx.AsyncClient, rows: list[Item]) -> None:
    first = await get(client, "/items/oldest", limit=5)
    second = await get(client, "/items/oldest", limit=5, cursor=first["nextCursor"])
    # A cursor that lost the microseconds or the zone would skip or repeat the rows tied on the time.
    assert {item["createdAt"] for item in first["items"] + second["items"]} == {"2026-03-01T09:30:15.123456Z"}
    assert not {i["itemId"] for i in first["items"]} & {i["itemId"] for i in second["items"]}


async def test_keys_are_read_from_entities_columns_and_table_rows(
    engine: AsyncEngine, rows: list[Item]
) -> None:
    table = Item.__table__
    shapes: dict[str, tuple[Select[*tuple[Any, ...]], Sequence[KeyColumn], Callable[[Any], uuid.UUID]]] = {
        "entity and a column": (select(Item, Item.rank), NEWEST, lambda row: row[0].id),
        "columns only": (select(Item.id, Item.created_at), NEWEST, lambda row: row.id),
        "a table's columns": (select(table), (table.c.created_at.desc(), table.c.id), lambda row: row.id),
    }
    expected = ids(sorted(rows, key=ORDERS["newest"][1]))
    async with AsyncSession(engine) as session:
        for shape, (stmt, order, item_id) in shapes.items():
            seen: list[str] = []
            query = PageQuery(limit=41)
            for _ in range(ROWS):
                ks = keyset(stmt, query, order=order)
                page = ks.page((await session.execute(ks.statement)).all(), item_id)
                seen += [str(i) for i in page.items]
                if page.next_cursor is None:
                    break
                query = PageQuery(limit=41, cursor=page.next_cursor)
            assert seen == expected, shape


def tampered(cursor: str) -> str:
    # Change one character of the key itself (the middle of the cursor), keeping it valid base64.
    middle = len(cursor) // 2
    return cursor[:middle] + ("A" if cursor[middle] != "A" else "B") + cursor[middle + 1 :]


def lookalike_cursor() -> str:
    """A cursor whose digest is right (same table and column names, same order) but whose time has no
    zone: a client that forged the digest gets a 422 rather than a database error."""

    class Other(DeclarativeBase):
        pass

    class Naive(Other):
        __tablename__ = "pagination_item"
        id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
        created_at: Mapped[dt.datetime] = mapped_column(DateTime())

    ks = keyset(select(Naive), PageQuery(limit=1), order=(Naive.created_at, Naive.id))
    made = [Naive(id=uuid.uuid4(), created_at=dt.datetime(2026, 3, 1)) for _ in range(2)]
    cursor = ks.page(made, lambda n: n.id).next_cursor
    assert cursor is not None
    return cursor


async def test_a_bad_cursor_is_a_422_invalid_cursor(client: httpx.AsyncClient, rows: list[Item]) -> None:
    mine = (await get(client, "/items/oldest", limit=3))["nextCursor"]
    newest = (await get(client, "/items/newest", limit=3))["nextCursor"]
    ranked = (await get(client, "/items/ranked", limit=3))["nextCursor"]
    unsigned = base64.urlsafe_b64encode(json.dumps(["n", T0.isoformat(), uuid.uuid4().hex]).encode())
    bad = {
        "tampered": tampered(mine),
        "of another order": newest,
        "of another list's key": ranked,
        "garbage": "not-a-cursor",
        "empty": "",
        "not base64": "%%%***",
        "unicode": "curseur-é",
        "unsigned": unsigned.decode(),
        "truncated": mine[:-3],
        "too long": "A" * 501,
        "forged types": lookalike_cursor(),
    }
    for what, cursor in bad.items():
        response = await client.get("/items/oldest", params={"limit": 3, "cursor": cursor})
        assert response.status_code == 422, (what, response.text)
        assert response.headers["content-type"] == "application/problem+json"
        body = response.json()
        assert body["code"] == "INVALID_CURSOR", what
        assert [e["field"] for e in body["errors"]] == ["query.cursor"], what
    window = await client.get("/window", params={"cursor": newest})
    assert window.status_code == 422 and window.json()["code"] == "INVALID_CURSOR"


def test_page_query_schema_is_the_lists_published_one() -> None:
    # The user plugin's lists publish this schema; moving them onto the core must not change their OpenAPI.
    assert PageQuery.model_json_schema(by_alias=True) == {
        "additionalProperties": False,
        "description": "``limit`` and ``cursor`` of every list.",
        "properties": {
            "limit": {
                "default": 50,
                "description": "Items per page.",
                "maximum": 200,
                "minimum": 1,
                "title": "Limit",
                "type": "integer",
            },
            "cursor": {
                "anyOf": [{"maxLength": 500, "type": "string"}, {"type": "null"}],
                "default": None,
                "description": "nextCursor of the previous page.",
                "title": "Cursor",
            },
        },
        "title": "PageQuery",
        "type": "object",
    }


def test_a_null_key_is_refused_with_a_sentence() -> None:
    ks = keyset(select(Item), PageQuery(limit=1), order=(Item.note, Item.id))
    made = make_rows()[:2]
    with pytest.raises(ValueError, match=r"pagination_item\.note is NULL"):
        ks.page(made, out)
