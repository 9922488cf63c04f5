"""The shortcuts that make matching fast at scale answer exactly what the plain search answers."""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from gateway.matching.index import MatchIndex
from gateway.matching.model import OpenItem
from gateway.matching.names import NameIndex
from gateway.matching.subset import MAX_TRIPLES, find_subsets, small_combinations


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


def _every_pair_and_triple(values: list[int], target: int, limit: int) -> tuple[tuple[int, ...], ...]:
    """Pairs in (i, j) order, then (up to `MAX_TRIPLES` values) triples in (i, j, k) order: plain loops."""
    count = len(values)
    pairs = [(i, j) for i in range(count) for j in range(i + 1, count) if values[i] + values[j] == target]
    triples = [
        (i, j, k)
        for i in range(count)
        for j in range(i + 1, count)
        for k in range(j + 1, count)
        if count <= MAX_TRIPLES and values[i] + values[j] + values[k] == target
    ]
    return tuple([*pairs, *triples][:limit])


def test_pairs_and_triples_checked_in_c_first_are_the_plain_loops_answer() -> None:
    rng = random.Random(7)
    found = 0
    for _ in range(300):
        values = [
            rng.choice((49_900, 99_000, 10_000)) if rng.random() < 0.3 else rng.randint(1, 20_000)
            for _ in range(rng.randint(3, 40))
        ]
        values = [-value if rng.random() < 0.1 else value for value in values]
        target = sum(rng.sample(values, rng.choice((2, 3)))) if rng.random() < 0.8 else rng.randint(1, 60_000)
        for limit in (1, 2, 3):
            expected = _every_pair_and_triple(values, target, limit)
            assert small_combinations(values, target, limit=limit) == expected, (values, target, limit)
            found += bool(expected)
    assert found > 300  # most targets were sums: the comparison covered real answers


def _item(number: str, kid: str | None, amount: str = "100.00") -> OpenItem:
    value = Decimal(amount)
    day = dt.date(2026, 3, 1)
    return OpenItem(f"id-{number}", number, "invoice", "c1", "Nordic AS", "NOK", value, value, day, None, kid)


def test_numbers_and_kids_are_found_in_filing_order_after_items_are_added_and_replaced() -> None:
    first, twin, other = _item("F-10", "0001"), _item("f10", "0001"), _item("11", "0002")
    index = MatchIndex([first, twin, other])
    assert index.by_number("F10") == [first, twin] and index.by_kid("0001") == [first, twin]
    late = _item("10", "0001")
    late.number = "F 10"
    index.add(late)  # filed after the items the index was built from
    assert index.by_number("F10") == [first, twin, late] and index.by_kid("0001") == [first, twin, late]
    replacement = _item("F-10", "0003")  # the same invoice id: the old item leaves every table
    index.add(replacement)
    assert index.by_number("F10") == [twin, late, replacement]
    assert index.by_kid("0001") == [twin, late] and index.by_kid("0003") == [replacement]
    index.add(twin)  # the same item again: filed once, now last
    assert index.by_number("F10") == [late, replacement, twin] and index.by_kid("0001") == [late, twin]
    assert index.by_number("11") == [other] and index.by_number("12") == [] and index.by_kid("9") == []
    assert index.item("id-F-10") is replacement and len(index) == 4
