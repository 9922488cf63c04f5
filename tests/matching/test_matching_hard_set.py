"""The hard set, small and seeded: the engine meets its targets, and the set really is hard.

Deterministic (seeded generator, no clocks in the assertions): 2,000 payments against 9,000 items of
600 customers, scored as the service would run them, people's resolutions and learning included.
"""

from __future__ import annotations

from collections import Counter

import pytest

from benchmarks.matching_hard_set import CATEGORIES, HardSet, Report, generate, score


@pytest.fixture(scope="module")
def hard_set() -> HardSet:
    return generate(seed=3, payments=2_000, customers=600, invoices=9_000)


@pytest.fixture(scope="module")
def report(hard_set: HardSet) -> Report:
    return score(hard_set)


def test_the_set_holds_every_hard_case_in_its_share(hard_set: HardSet) -> None:
    counts = Counter(truth.category for truth in hard_set.truths)
    weights = {name: weight for name, (weight, _, _) in CATEGORIES.items() if weight}
    total = sum(weights.values())
    for name, weight in weights.items():
        expected = len(hard_set.truths) * weight / total
        assert counts[name] >= max(1, expected / 3), (name, counts[name], expected)
    look_alikes = Counter(" ".join(item.customer_name.split()[:2]) for item in hard_set.items)
    assert max(look_alikes.values()) > 1
    assert any(p.instructed_currency for p in hard_set.payments)


def test_the_targets_are_met(report: Report) -> None:
    for label, value, target, ok in report.targets:
        assert ok, f"{label}: {value:.3f} % (target {target})"


def test_exception_truths_are_never_applied(report: Report) -> None:
    for name, (_, expect, _) in CATEGORIES.items():
        if expect == "exception":
            assert report.rows[name].false == 0, name


def test_ambiguous_cases_reach_a_person_with_the_answer_among_the_suggestions(report: Report) -> None:
    for name in ("lump_ambiguous", "wrong_kid", "fx_uninstructed"):
        row = report.rows[name]
        assert row.review > 0 and row.top3 / row.review >= 0.8, (name, row.top3, row.review)
    assert report.rows["deduction"].approval_right == report.rows["deduction"].payments
