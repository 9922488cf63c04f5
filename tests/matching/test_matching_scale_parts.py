"""The shortcuts that make matching fast at scale answer exactly what the plain search answers."""

from __future__ import annotations

import random

from gateway.matching.names import NameIndex
from gateway.matching.subset import find_subsets


def _every_subset(values: list[int], target: int, limit: int, min_size: int) -> tuple[tuple[int, ...], ...]:
    """The plain meet-in-the-middle order: right half's masks ascending, then the left half's."""
    half = len(values) // 2
    found: list[tuple[int, ...]] = []
    for right in range(1 << (len(values) - half)):
        for left in range(1 << half):
            chosen = [i for i in range(half) if left >> i & 1]
            chosen += [half + i for i in range(len(values) - half) if right >> i & 1]
            if len(chosen) >= min_size and sum(values[i] for i in chosen) == target:
                found.append(tuple(chosen))
                if len(found) >= limit:
                    return tuple(found)
    return tuple(found)


def test_the_pruned_subset_search_finds_the_same_solutions_in_the_same_order() -> None:
    rng = random.Random(22)
    solved = 0
    for _ in range(400):
        values = [
            rng.choice((49_900, 99_000, 10_000)) if rng.random() < 0.4 else rng.randint(1, 50_000)
            for _ in range(rng.randint(1, 10))
        ]
        values = [-value if rng.random() < 0.1 else value for value in values]  # credit notes
        target = (
            sum(rng.sample(values, rng.randint(1, len(values))))
            if rng.random() < 0.7
            else rng.randint(-5_000, 150_000)
        )
        for limit, min_size in ((1, 1), (2, 2), (3, 2)):
            expected = _every_subset(values, target, limit, min_size)
            result = find_subsets(values, target, limit=limit, min_size=min_size)
            assert result.solutions == expected, (values, target, limit, min_size)
            assert not result.exhausted
            solved += bool(expected)
    assert solved > 100  # the cases exercise found solutions, not only empty answers


def test_a_pruned_search_still_counts_a_credit_note_that_brings_a_sum_back_down() -> None:
    # 700 + 500 - 200 = 1000: the partial sum 1200 is above the target and still viable
    assert find_subsets([700, 500, -200, 300], 1000, limit=3, min_size=2).solutions == ((0, 1, 2), (0, 3))


def test_a_name_search_sees_customers_added_after_an_earlier_search() -> None:
    names = NameIndex()
    names.add("org:1", "Nordic Trading AS")
    assert [hit.customer_key for hit in names.search("NORDIC TRAD", cutoff=0)] == ["org:1"]
    names.add("org:2", "Nordic Trading Partners AS")
    names.add("org:3", "Nordic Tradewinds AS")
    found = names.search("NORDIC TRAD", cutoff=0)
    assert sorted(hit.customer_key for hit in found) == ["org:1", "org:2", "org:3"]
    assert found is not names.search("NORDIC TRAD", cutoff=0)  # the caller gets its own list


def test_a_truncated_last_word_finds_every_word_it_begins() -> None:
    names = NameIndex()
    names.add("org:1", "Bergen Bygg AS")
    names.add("org:2", "Bergensfjord Bygg AS")
    names.add("org:3", "Berg Bygg AS")
    names.add("org:4", "Oslo Bygg AS")
    assert sorted(hit.customer_key for hit in names.search("BYGG BER", cutoff=0)) == [
        "org:1",
        "org:2",
        "org:3",
    ]
    # a full word alone uses its own postings, and searching twice answers the same
    assert [hit.customer_key for hit in names.search("OSLO BYGG")] == ["org:4"]
    assert [hit.customer_key for hit in names.search("OSLO BYGG")] == ["org:4"]
