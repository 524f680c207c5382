"""Ranks sort where they were put, however many moves land in the same place."""

from __future__ import annotations

import random

import pytest

from wealist_core.ranks import rank_between, ranks_between


def test_a_rank_sorts_between_its_neighbours_after_many_inserts_at_one_place() -> None:
    ranks = [rank_between(None, None)]
    ranks.append(rank_between(ranks[0], None))
    low, high = ranks
    for _ in range(200):  # always squeezing in right after the first one
        high = rank_between(low, high)
        ranks.append(high)
    assert len(set(ranks)) == len(ranks)
    assert sorted(ranks)[0] == low
    assert all(not r.endswith("0") for r in ranks)
    assert max(len(r) for r in ranks) < 60


def test_random_moves_keep_the_order_the_list_was_given() -> None:
    rng = random.Random(7)
    order: list[str] = []
    for _ in range(500):
        at = rng.randint(0, len(order))
        before = order[at - 1] if at > 0 else None
        after = order[at] if at < len(order) else None
        order.insert(at, rank_between(before, after))
    assert order == sorted(order)


def test_ranks_between_gives_ascending_ranks_inside_the_bounds() -> None:
    a, b = rank_between(None, None), None
    many = ranks_between(a, b, 100)
    assert many == sorted(many) and len(set(many)) == 100 and many[0] > a
    assert ranks_between("a", "b", 0) == []


@pytest.mark.parametrize(
    ("before", "after"), [("b", "a"), ("a", "a"), ("a0", None), ("", None), ("a-", None)]
)
def test_a_bad_pair_is_refused(before: str, after: str | None) -> None:
    with pytest.raises(ValueError):
        rank_between(before, after)
