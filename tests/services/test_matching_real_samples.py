"""Every shared camt.05x and OCR giro sample, posted through the API to a tenant built from what its payments
name (with decoys): nothing is ever applied where it does not belong; readable files apply in full.

`benchmarks/matching_real_samples.py` builds the tenants and counts; here its figures are asserted, on
both databases. The variants: `exact` (each named invoice open for what is paid), `partial` (open for twice
that: applied as a partial payment or left to a person, never elsewhere), `old_kid` (a KID of another open
invoice of the same customer, the amount exactly that customer's other invoice: never applied).
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from benchmarks.matching_real_samples import (
    VARIANTS,
    SampleResult,
    api_calls,
    plan_sample,
    run_all,
    sample_files,
)
from tests.conftest import SHARED

SAMPLES = SHARED / "samples"


def test_every_camt_and_ocr_sample_is_taken() -> None:
    names = {path.name for path in sample_files(SAMPLES)}
    assert {path.name for path in (SAMPLES / "camt").iterdir()} <= names
    assert {path.name for path in (SAMPLES / "ocr").iterdir()} <= names
    plans = [plan_sample(path) for path in sample_files(SAMPLES)]
    readable = [plan for plan in plans if plan.refused is None]
    assert len(readable) >= 8 and sum(len(plan.intents) for plan in readable) >= 25
    assert sum(bool(intent.allocations) for plan in readable for intent in plan.intents) >= 20


@pytest.fixture
def results(client: TestClient, engine: Engine, token_for: Any) -> list[SampleResult]:
    post, get = api_calls(client, lambda tenant: token_for(tenant)["Authorization"].removeprefix("Bearer "))
    return run_all(SAMPLES, engine, post, get, VARIANTS)


def test_real_files_never_apply_money_where_it_does_not_belong_and_refused_files_book_nothing(
    results: list[SampleResult],
) -> None:
    for result in results:
        assert result.false == 0, (result.variant, result.name, result.false_detail)
    assert {result.variant for result in results} == set(VARIANTS)
    refused = {(result.variant, result.name) for result in results if result.refused is not None}
    names = {name for _, name in refused}
    assert {"genkgo_camt054.v4.xml", "netsgiro_avtalegiro_agreements.txt"} <= names
    assert len(refused) == len(names) * len(VARIANTS)
    assert all(result.payments == 0 for result in results if result.refused is not None)


def test_exact_references_apply_in_full_and_an_old_kid_is_left_to_a_person(
    results: list[SampleResult],
) -> None:
    exact = [result for result in results if result.variant == "exact" and result.refused is None]
    assert sum(result.intended for result in exact) >= 20
    for result in exact:
        assert result.auto == result.intended, (result.name, result.outcomes)
    old = [result for result in results if result.variant == "old_kid"]
    assert sum(result.review for result in old) >= 20
    for result in old:
        assert result.auto == result.intended  # the payments without a single KID still apply
        assert result.outcomes.get("applied", 0) == result.auto
