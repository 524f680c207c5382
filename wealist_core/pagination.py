"""Keyset pagination: a list's ORDER BY is its key, and a cursor is a position in that order.

::

    ks = keyset(select(Task).where(Task.board_id == board_id), query, order=(Task.created_at.desc(), Task.id))
    rows = (await session.scalars(ks.statement)).all()
    return ks.page(rows, TaskOut.model_validate)          # Page[TaskOut]: items, nextCursor

``keyset`` adds the cursor's WHERE, the ORDER BY and ``LIMIT limit + 1`` (the extra row says whether more
follow); ``Keyset.page`` / ``Keyset.window`` / ``Keyset.slice`` turn the fetched rows into the answer.

- The order must be unique (end it with the primary key) and its columns non-null: a NULL key is an error.
  Each item is a column (an ORM attribute or a table's column), optionally ``.asc()`` or ``.desc()``.
- The cursor's value types come from the columns' types (UUID, datetime, date, str, int, bool, float,
  Decimal, Enum). The key is read back from the rows: a selected column by itself, or the attribute of a
  selected entity (``select(Member, User)`` rows, or ``scalars()`` entities).
- Cursors are opaque (URL-safe base64 of a small JSON array and a digest of it and of the list's order): a
  cursor that was altered, comes from a list with another order or is not a cursor at all is a 422
  ``INVALID_CURSOR`` (field ``query.cursor``), never a 500.
- Both directions: a cursor carries its direction. :class:`Window` answers carry ``nextCursor`` and
  ``prevCursor``; a backward page comes back in the list's order. ``from_end=True`` opens a list at its
  last page (chat history opens at the newest messages and scrolls back).
- The comparison is spelled out with OR and AND (``a > x OR (a = x AND b > y)``), so SQLite and PostgreSQL
  answer the same, with a leading ``a >= x`` that lets an index on the key serve the range.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import decimal
import enum
import hashlib
import hmac
import json
import math
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from pydantic import Field, field_validator
from sqlalchemy import Select, and_, inspect, or_
from sqlalchemy.orm import InstanceState, QueryableAttribute
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import ColumnElement, UnaryExpression
from sqlalchemy.types import DateTime, TypeDecorator, TypeEngine

from wealist_core.errors import ValidationProblem
from wealist_core.http.models import ApiModel, Page

__all__ = [
    "INVALID_CURSOR",
    "KeyColumn",
    "Keyset",
    "Page",
    "PageQuery",
    "Paging",
    "Slice",
    "Window",
    "WindowQuery",
    "invalid_cursor",
    "keyset",
]

INVALID_CURSOR = "INVALID_CURSOR"
DEFAULT_LIMIT = 50
MAX_LIMIT = 200
MAX_CURSOR = 500

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")

KeyColumn = ColumnElement[Any] | QueryableAttribute[Any]
"""An item of a keyset order: ``Task.id``, ``Task.created_at.desc()``, ``table.c.id``."""

_INT64 = 2**63
_DIGEST = 8
_FORMAT = "v1"  # part of every cursor's digest: a change of format refuses the old cursors


def invalid_cursor() -> ValidationProblem:
    """The one answer to a cursor this list did not give out."""
    return ValidationProblem(
        "query.cursor: not a cursor of this list; start again without one.",
        code=INVALID_CURSOR,
        errors=[{"field": "query.cursor", "message": "invalid cursor", "type": "invalid_cursor"}],
    )


class PageQuery(ApiModel):
    """``limit`` and ``cursor`` of every list."""

    limit: int = Field(default=DEFAULT_LIMIT, ge=1, le=MAX_LIMIT, description="Items per page.")
    cursor: str | None = Field(
        default=None, max_length=MAX_CURSOR, description="nextCursor of the previous page."
    )

    @field_validator("cursor", mode="before")
    @classmethod
    def _cursor_fits(cls, value: Any) -> Any:
        # Raised as the problem itself (not a ValueError), so that an oversized cursor gets the same code as
        # every other bad cursor instead of the generic VALIDATION_ERROR; the schema keeps its maxLength.
        if isinstance(value, str) and len(value) > MAX_CURSOR:
            raise invalid_cursor()
        return value


class WindowQuery(PageQuery):
    """``limit`` and ``cursor`` of a list that scrolls both ways."""

    cursor: str | None = Field(
        default=None, max_length=MAX_CURSOR, description="nextCursor or prevCursor of the previous window."
    )


class Window(ApiModel, Generic[T]):
    """A part of a list that scrolls both ways: ``nextCursor`` for what follows, ``prevCursor`` for what
    comes before (each null at its end of the list)."""

    items: list[T]
    next_cursor: str | None = Field(default=None)
    prev_cursor: str | None = Field(default=None)


class Paging(Protocol):
    """What ``keyset`` reads of a query: :class:`PageQuery` and its subclasses have it."""

    @property
    def limit(self) -> int: ...

    @property
    def cursor(self) -> str | None: ...


@dataclass(frozen=True, slots=True)
class Slice(Generic[R]):
    """The rows of one page in the list's order, and the cursors around them."""

    rows: list[R]
    next_cursor: str | None
    prev_cursor: str | None


@dataclass(frozen=True, slots=True)
class _Key:
    column: ColumnElement[Any]
    descending: bool
    kind: type
    aware: bool | None  # datetimes: a zone is required (True), refused (False), or either (None)
    table: Any  # the column's table (or alias), None for a label
    name: str


def _aware(type_: TypeEngine[Any]) -> bool | None:
    if isinstance(type_, TypeDecorator):
        # A decorated time is what its decorator makes of it; over a zoned column it is zoned (UtcDateTime).
        impl = type_.impl_instance
        return True if isinstance(impl, DateTime) and impl.timezone else None
    return bool(type_.timezone) if isinstance(type_, DateTime) else None


def _python_type(type_: TypeEngine[Any]) -> type:
    try:
        kind = type_.python_type
    except NotImplementedError:
        return object
    if kind is object and isinstance(type_, TypeDecorator):
        # A decorator that does not say its values' type (UtcDateTime) gives its column's.
        return _python_type(type_.impl_instance)
    return kind


_KINDS = (uuid.UUID, dt.datetime, dt.date, str, bool, int, float, decimal.Decimal)


def _key(item: KeyColumn) -> _Key:
    expr: Any = item
    descending = False
    if isinstance(expr, UnaryExpression) and expr.modifier in (operators.asc_op, operators.desc_op):
        descending = expr.modifier is operators.desc_op
        expr = expr.element
    if isinstance(expr, QueryableAttribute):
        expr = expr.__clause_element__()
    if not isinstance(expr, ColumnElement) or isinstance(expr, UnaryExpression):
        raise TypeError(f"keyset order: {item!r} is not a column, nor a column's .asc() or .desc()")
    kind = _python_type(expr.type)
    if kind not in _KINDS and not (isinstance(kind, type) and issubclass(kind, enum.Enum)):
        raise TypeError(f"keyset order: {expr} has no cursor type (its values are {kind.__name__})")
    aware = _aware(expr.type) if kind is dt.datetime else None
    return _Key(expr, descending, kind, aware, getattr(expr, "table", None), str(getattr(expr, "name", expr)))


def _label(key: _Key) -> str:
    """The key's name in the order's fingerprint and in messages: ``table.column``."""
    table = getattr(key.table, "original", key.table)  # an alias's anonymous name differs between processes
    return f"{getattr(table, 'name', '')}.{key.name}"


def _text(part: Any) -> str:
    if not isinstance(part, str):
        raise TypeError("not a string")
    return part


def _encode(key: _Key, value: Any) -> Any:
    if value is None:
        raise ValueError(
            f"keyset: {_label(key)} is NULL in a row; the columns of a keyset order are non-null"
        )
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return value.hex
    if isinstance(value, dt.datetime):
        if key.aware and value.tzinfo is None:
            # SQLite gives a zoned column's values back without their zone; they were stored as UTC.
            value = value.replace(tzinfo=dt.UTC)
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    return value


def _decode(key: _Key, part: Any) -> Any:
    # Strict: a cursor whose digest was forged must still never bind a value the database refuses.
    kind = key.kind
    if kind is uuid.UUID:
        return uuid.UUID(hex=_text(part))
    if kind is dt.datetime:
        moment = dt.datetime.fromisoformat(_text(part))
        if key.aware is not None and (moment.tzinfo is not None) != key.aware:
            raise ValueError("time zone")
        return moment
    if kind is dt.date:
        return dt.date.fromisoformat(_text(part))
    if kind is str:
        text = _text(part)
        if "\x00" in text:
            raise ValueError("NUL")
        text.encode()  # a lone surrogate is no UTF-8: UnicodeEncodeError, a ValueError
        return text
    if kind is bool:
        if not isinstance(part, bool):
            raise TypeError("not a boolean")
        return part
    if kind is int:
        if type(part) is not int or not -_INT64 <= part < _INT64:
            raise TypeError("not a 64-bit integer")
        return part
    if kind is float:
        if type(part) not in (int, float) or not math.isfinite(part):
            raise TypeError("not a finite number")
        return float(part)
    if kind is decimal.Decimal:
        number = decimal.Decimal(_text(part))
        if not number.is_finite():
            raise ValueError("not finite")
        return number
    return kind(part)  # an Enum, by value


def _value(row: Any, key: _Key) -> Any:
    mapping = getattr(row, "_mapping", None)
    if mapping is not None:
        if key.column in mapping:
            return mapping[key.column]
        elements: Sequence[Any] = tuple(row)
    else:
        elements = row if isinstance(row, tuple) else (row,)
    for element in elements:
        state = inspect(element, raiseerr=False)
        if isinstance(state, InstanceState) and key.table is not None:
            # Matched by table and name: the mapper's own lookup compares columns with SQL-building ==,
            # about 80 us a row; and an aliased entity's column (another table) must not match.
            for prop in state.mapper.column_attrs:
                column = prop.columns[0]
                if getattr(column, "table", None) is key.table and getattr(column, "name", None) == key.name:
                    return getattr(element, prop.key)
    raise LookupError(f"keyset: the rows carry no {_label(key)}; select that column or its entity")


def _beyond(keys: Sequence[_Key], values: Sequence[Any], backward: bool) -> ColumnElement[bool]:
    """The rows after the position (before it when ``backward``), in the order of ``keys``."""

    def past(key: _Key, value: Any, strict: bool) -> ColumnElement[bool]:
        up = key.descending == backward
        # SQLAlchemy types a column comparison as Any here; it is a boolean clause.
        if strict:
            clause: ColumnElement[bool] = key.column > value if up else key.column < value
        else:
            clause = key.column >= value if up else key.column <= value
        return clause

    condition = past(keys[-1], values[-1], True)
    for key, value in zip(reversed(keys[:-1]), reversed(values[:-1]), strict=True):
        condition = or_(past(key, value, True), and_(key.column == value, condition))
    if len(keys) > 1:
        # Implied by the OR, but it lets an index on the key bound the scan.
        condition = and_(past(keys[0], values[0], False), condition)
    return condition


@dataclass(frozen=True, slots=True)
class Keyset(Generic[S]):
    """A list's statement with its cursor applied, and the way from its rows to the answer."""

    statement: S
    limit: int
    backward: bool
    resumed: bool
    _keys: tuple[_Key, ...]
    _secret: bytes

    def _cursor(self, row: Any, direction: str) -> str:
        data = json.dumps(
            [direction, *(_encode(key, _value(row, key)) for key in self._keys)],
            separators=(",", ":"),
            ensure_ascii=False,
            allow_nan=False,
        ).encode()
        digest = hashlib.blake2b(data, key=self._secret, digest_size=_DIGEST).digest()
        return base64.urlsafe_b64encode(digest + data).decode().rstrip("=")

    def slice(self, rows: Sequence[R]) -> Slice[R]:
        """The page's rows (fetched from :attr:`statement`) in the list's order, and both cursors."""
        more = len(rows) > self.limit
        part = list(rows[: self.limit])
        if self.backward:
            part.reverse()
        if not part:
            return Slice(part, None, None)
        ahead, behind = (self.resumed, more) if self.backward else (more, self.resumed)
        return Slice(
            part,
            next_cursor=self._cursor(part[-1], "n") if ahead else None,
            prev_cursor=self._cursor(part[0], "p") if behind else None,
        )

    def page(self, rows: Sequence[R], item: Callable[[R], T]) -> Page[T]:
        """A :class:`Page` of ``item(row)`` for each row of the page."""
        part = self.slice(rows)
        return Page(items=[item(row) for row in part.rows], next_cursor=part.next_cursor)

    def window(self, rows: Sequence[R], item: Callable[[R], T]) -> Window[T]:
        """A :class:`Window` of ``item(row)`` for each row of the page."""
        part = self.slice(rows)
        return Window(
            items=[item(row) for row in part.rows],
            next_cursor=part.next_cursor,
            prev_cursor=part.prev_cursor,
        )


def _decode_cursor(cursor: str, keys: Sequence[_Key], secret: bytes) -> tuple[bool, list[Any]]:
    try:
        if len(cursor) > MAX_CURSOR:  # a query model of a plugin's own may not bound it
            raise ValueError("length")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        digest, data = raw[:_DIGEST], raw[_DIGEST:]
        expected = hashlib.blake2b(data, key=secret, digest_size=_DIGEST).digest()
        if not hmac.compare_digest(digest, expected):
            raise ValueError("digest")
        parts = json.loads(data)
        if not isinstance(parts, list) or len(parts) != len(keys) + 1 or parts[0] not in ("n", "p"):
            raise ValueError("shape")
        return parts[0] == "p", [_decode(key, part) for key, part in zip(keys, parts[1:], strict=True)]
    except (ValueError, TypeError, ArithmeticError, binascii.Error):
        raise invalid_cursor() from None


def keyset(stmt: S, query: Paging, *, order: Sequence[KeyColumn], from_end: bool = False) -> Keyset[S]:
    """Page ``stmt`` by ``order``: the cursor's WHERE, ``ORDER BY order`` (replacing any ORDER BY of
    ``stmt``) and ``LIMIT query.limit + 1``. A bad ``query.cursor`` raises the 422 ``INVALID_CURSOR``.

    Without a cursor the list opens at its first page, or at its last with ``from_end=True``.
    """
    if not order:
        raise TypeError("keyset: give the order, ending with a unique column")
    keys = tuple(_key(item) for item in order)
    fingerprint = ",".join(f"{_label(key)}{'-' if key.descending else '+'}" for key in keys)
    secret = hashlib.blake2b(f"{_FORMAT}|{fingerprint}".encode(), digest_size=32).digest()
    backward, values = from_end, None
    if query.cursor is not None:
        backward, values = _decode_cursor(query.cursor, keys, secret)
    if values is not None:
        stmt = stmt.where(_beyond(keys, values, backward))
    columns = [key.column.desc() if key.descending != backward else key.column.asc() for key in keys]
    stmt = stmt.order_by(None).order_by(*columns).limit(query.limit + 1)
    return Keyset(stmt, query.limit, backward, values is not None, keys, secret)
