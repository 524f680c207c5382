"""Lexicographic ranks: positions in an ordered list that let an item move by writing one row.

A rank is a short string of base-62 digits (``0-9A-Za-z``, in ASCII order, so a plain ``ORDER BY rank``
sorts them, with the C collation or any collation that orders ASCII letters and digits by code point: give
the column ``collation="C"`` on PostgreSQL if the database's default is another). Between any two ranks there
is always a third: moving an item between two others writes only the moved item's rank, never its
neighbours'. A rank never ends with ``0``, so no rank is a prefix-tie of another.

    >>> first = rank_between(None, None)
    >>> second = rank_between(first, None)
    >>> middle = rank_between(first, second)
    >>> first < middle < second
    True
"""

from __future__ import annotations

__all__ = ["DIGITS", "rank_between", "ranks_between"]

#: The digits of a rank, in ascending order (ASCII order).
DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE = len(DIGITS)
_VALUE = {digit: value for value, digit in enumerate(DIGITS)}


def _midpoint(a: str, b: str | None) -> str:
    # a < b (b None: no upper bound); neither ends with "0"; a may be "".
    if b is not None:
        n = 0
        while n < len(b) and (a[n] if n < len(a) else "0") == b[n]:
            n += 1
        if n > 0:
            return b[:n] + _midpoint(a[n:], b[n:])
    low = _VALUE[a[0]] if a else 0
    high = _VALUE[b[0]] if b else _BASE
    if high - low > 1:
        return DIGITS[(low + high + 1) // 2]
    if b is not None and len(b) > 1:
        return b[0]
    return DIGITS[low] + _midpoint(a[1:], None)


def _check(rank: str | None, name: str) -> None:
    if rank is None:
        return
    if not rank or rank.endswith("0") or any(c not in _VALUE for c in rank):
        raise ValueError(f"{name} is not a rank: {rank!r}")


def rank_between(before: str | None, after: str | None) -> str:
    """A rank sorting after ``before`` and before ``after``; ``None`` is the start (or the end) of the list.

    ``ValueError`` when ``before`` does not sort before ``after`` or either is not a rank."""
    _check(before, "before")
    _check(after, "after")
    if before is not None and after is not None and before >= after:
        raise ValueError(f"{before!r} does not sort before {after!r}")
    return _midpoint(before or "", after)


def ranks_between(before: str | None, after: str | None, count: int) -> list[str]:
    """``count`` ascending ranks between ``before`` and ``after`` (a bulk move), kept short by bisecting."""
    if count <= 0:
        return []
    middle = rank_between(before, after)
    half = count // 2
    return [*ranks_between(before, middle, half), middle, *ranks_between(middle, after, count - half - 1)]
