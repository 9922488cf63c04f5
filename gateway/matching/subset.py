"""Which combinations of a payer's open items add up to a lump sum: counted, bounded, in minor units.

With many open items, several subsets often add up to the same payment (three 499.00 subscriptions
paid two at a time; an invoice equal to two others), so the search counts solutions and stops at a
small limit: one solution may apply, two or more go to a person. Amounts are integers (minor units),
credit notes negative, so the comparison is exact.

Meet-in-the-middle over the two halves of the list (2^(n/2) sums each) answers up to 26 items at once;
longer lists (the policy allows 60) go to a depth-first search with range pruning and a node budget.
When the budget runs out, the result says so (`exhausted`) and the caller treats it as ambiguous: an
unfinished count is no proof of uniqueness.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

#: Halves up to this size are enumerated completely (2^13 = 8192 sums each).
MAX_HALF = 13
#: Depth-first nodes visited at most before giving up.
DEFAULT_BUDGET = 200_000


@dataclass(frozen=True, slots=True)
class SubsetResult:
    """Solutions found (index tuples into the values, at most `limit`) and whether the search finished."""

    solutions: tuple[tuple[int, ...], ...]
    exhausted: bool

    @property
    def unique(self) -> bool:
        return len(self.solutions) == 1 and not self.exhausted


#: A half's subsets are held as one integer each: the sum shifted left by this many bits, the mask below.
_MASK_BITS = MAX_HALF
_MASK = (1 << _MASK_BITS) - 1


def _viable_subsets(values: Sequence[int], low: int, high: int) -> list[int]:
    """The subsets of `values` whose sum lies in [low, high], encoded `sum << _MASK_BITS | mask`.

    Built by doubling (the subsets without a value, then those with it), so the list is in ascending
    mask order, the order the complete enumeration has. A partial subset is dropped as soon as the
    values still to come can no longer bring its sum into the range: a payment against a few large
    invoices enumerates a few dozen subsets instead of 2^n.
    """
    negative_rest = sum(value for value in values if value < 0)
    positive_rest = sum(value for value in values if value > 0)
    encoded = [0]
    for position, value in enumerate(values):
        if value < 0:
            negative_rest -= value
        else:
            positive_rest -= value
        # a sum s stays viable while s + negative_rest <= high and s + positive_rest >= low
        floor = (low - positive_rest) << _MASK_BITS
        ceiling = (high - negative_rest + 1) << _MASK_BITS
        step = (value << _MASK_BITS) | (1 << position)
        with_value = [moved for code in encoded if floor <= (moved := code + step) < ceiling]
        encoded = [code for code in encoded if floor <= code < ceiling]
        encoded += with_value
    return encoded


def _indexes(mask: int, offset: int) -> list[int]:
    out: list[int] = []
    position = 0
    while mask:
        if mask & 1:
            out.append(position + offset)
        mask >>= 1
        position += 1
    return out


def _meet_in_the_middle(values: Sequence[int], target: int, limit: int, min_size: int) -> SubsetResult:
    half = len(values) // 2
    left_values, right_values = values[:half], values[half:]
    # a left sum is worth keeping only when some right subset can complete it, and the other way round
    right_low = sum(value for value in right_values if value < 0)
    right_high = sum(value for value in right_values if value > 0)
    left = _viable_subsets(left_values, target - right_high, target - right_low)
    if not left:
        return SubsetResult((), False)
    # codes order by sum first (a mask is below 2^_MASK_BITS): the extreme codes hold the extreme sums
    left_low = min(left) >> _MASK_BITS
    left_high = max(left) >> _MASK_BITS
    right = _viable_subsets(right_values, target - left_high, target - left_low)
    # the right subsets some left sum completes, and those left sums, picked out in C (map / compress)
    # before anything is looped over in Python: usually a handful of thousands
    sum_of = _MASK_BITS.__rrshift__  # code -> its sum
    left_sums = set(map(sum_of, left))
    right = list(
        itertools.compress(right, map(left_sums.__contains__, map(target.__sub__, map(sum_of, right))))
    )
    if not right:
        return SubsetResult((), False)
    wanted = {target - (code >> _MASK_BITS) for code in right}
    by_sum: dict[int, list[int]] = {}
    for code in itertools.compress(left, map(wanted.__contains__, map(sum_of, left))):
        by_sum.setdefault(code >> _MASK_BITS, []).append(code & _MASK)
    solutions: list[tuple[int, ...]] = []
    for code in right:
        found = by_sum[target - (code >> _MASK_BITS)]
        right_mask = code & _MASK
        right_size = right_mask.bit_count()
        for left_mask in found:
            if left_mask.bit_count() + right_size < min_size:
                continue
            solutions.append(tuple(_indexes(left_mask, 0) + _indexes(right_mask, half)))
            if len(solutions) >= limit:
                return SubsetResult(tuple(solutions), False)
    return SubsetResult(tuple(solutions), False)


def _depth_first(values: Sequence[int], target: int, limit: int, min_size: int, budget: int) -> SubsetResult:
    order = sorted(range(len(values)), key=lambda i: -abs(values[i]))
    ordered = [values[i] for i in order]
    count = len(ordered)
    positive_left = [0] * (count + 1)
    negative_left = [0] * (count + 1)
    for i in range(count - 1, -1, -1):
        positive_left[i] = positive_left[i + 1] + max(ordered[i], 0)
        negative_left[i] = negative_left[i + 1] + min(ordered[i], 0)
    solutions: list[tuple[int, ...]] = []
    chosen: list[int] = []
    nodes = 0
    exhausted = False

    def visit(position: int, total: int, added: bool) -> bool:
        """False stops the search (limit reached or budget spent); a set is counted where it is completed."""
        nonlocal nodes, exhausted
        nodes += 1
        if nodes > budget:
            exhausted = True
            return False
        if added and total == target and len(chosen) >= min_size:
            solutions.append(tuple(sorted(order[i] for i in chosen)))
            if len(solutions) >= limit:
                return False
        if position == count:
            return True
        if not total + negative_left[position] <= target <= total + positive_left[position]:
            return True
        chosen.append(position)
        go_on = visit(position + 1, total + ordered[position], True)
        chosen.pop()
        return go_on and visit(position + 1, total, False)

    visit(0, 0, False)
    return SubsetResult(tuple(solutions), exhausted)


def find_subsets(
    values: Sequence[int], target: int, *, limit: int = 2, min_size: int = 2, budget: int = DEFAULT_BUDGET
) -> SubsetResult:
    """Up to `limit` subsets (of at least `min_size` items) of `values` summing exactly to `target`.

    Every solution is a sorted tuple of indexes into `values`. Finding `limit` solutions stops the
    search: the caller only needs to know "none", "exactly one" or "more than one".
    """
    if limit < 1 or not values:
        return SubsetResult((), False)
    if len(values) <= 2 * MAX_HALF:
        return _meet_in_the_middle(values, target, limit, min_size)
    return _depth_first(values, target, limit, min_size, budget)


#: Up to this many values, combinations of three are checked too (n²/2 pairs).
MAX_TRIPLES = 250


def small_combinations(values: Sequence[int], target: int, *, limit: int = 2) -> tuple[tuple[int, ...], ...]:
    """Pairs (and, for up to `MAX_TRIPLES` values, triples) of `values` summing exactly to `target`.

    The complement of the windowed search: a payer with more open items than the window still has its
    obvious confusions ("two invoices of 400 equal one of 800") found among all of them, in O(n) for
    pairs and O(n²) for triples, with a dictionary of values to positions.
    """
    positions: dict[int, list[int]] = {}
    for position, value in enumerate(values):
        positions.setdefault(value, []).append(position)
    found: list[tuple[int, ...]] = []
    for i, value in enumerate(values):
        for j in positions.get(target - value, ()):
            if j > i:
                found.append((i, j))
                if len(found) >= limit:
                    return tuple(found)
    if len(values) <= MAX_TRIPLES:
        present = positions.__contains__
        for i in range(len(values)):
            rest = target - values[i]
            # most first values complete no pair at all: seen in one pass in C, before the loop in Python
            if not any(map(present, map(rest.__sub__, itertools.islice(values, i + 1, None)))):
                continue
            for j in range(i + 1, len(values)):
                for k in positions.get(rest - values[j], ()):
                    if k > j:
                        found.append((i, j, k))
                        if len(found) >= limit:
                            return tuple(found)
    return tuple(found)
