"""The Payers page over HTTP: what matching learned about payers and which customers pay for others, as
the real engine learned it from camt.054 files (`tests/console/payers_scenario.py`), and a credit
controller's corrections booked by the services the API's `/matching/learned` and `/matching/groups` use."""

from __future__ import annotations

import html
import re
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.console.helpers import ConsoleClient, api_auth, make_user
from tests.console.payers_scenario import (
    LONG_KEY,
    LONG_NAME,
    LONG_ORG,
    MIDNATTSOL_ACCOUNT,
    MIDNATTSOL_KEY,
    SHARED_ACCOUNT,
    Payers,
    learn_payers,
)
from tests.payment_scenarios import invoice, receive
from tests.remittance_files import Tx, camt054

PAGE = "/console/payments/payers"


@pytest.fixture
def credit(web: TestClient, engine: Engine) -> ConsoleClient:
    return ConsoleClient(web, make_user(engine, "kreditt@acme.example", "credit"))


@pytest.fixture
def auth(engine: Engine) -> dict[str, str]:
    return api_auth(engine)


@pytest.fixture
def payers(web: TestClient, auth: dict[str, str]) -> Payers:
    return learn_payers(web, auth)


def _text(page: str) -> str:
    """The page as a person reads it: tags gone, entities decoded, white space collapsed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _row(page: str, needle: str) -> str:
    [row] = [row for row in re.findall(r"<tr.*?</tr>", page, re.S) if needle in row]
    return _text(row)


def test_the_page_says_what_was_learned_from_which_payment_and_what_it_means(
    credit: ConsoleClient, payers: Payers
) -> None:
    answer = credit.get(PAGE)
    assert answer.status_code == 200
    page = answer.text
    midnattsol = _row(page, "1503.20.80119")
    assert "Midnattsol Drift AS" in midnattsol and MIDNATTSOL_KEY in midnattsol
    assert "automatic payment of" in midnattsol and "identifies" in midnattsol and "the matcher" in midnattsol
    assert f'href="/console/payments/{payers.payments["midnattsol"]}"' in page
    long_row = _row(page, "9710.05.12345")
    assert LONG_NAME in long_row, "Norwegian letters as written, not escaped into entities"
    assert LONG_NAME in page
    shared = [_text(row) for row in re.findall(r"<tr.*?</tr>", page, re.S) if "1234.56.78903" in row]
    assert len(shared) == 2 and all("shared" in row for row in shared)
    assert "Has paid for Fjordbyen Bygg AS and Vestkyst Handel AS: identifies neither." in (shared[0])
    group = _row(page, f"/console/payments/payers/groups/{payers.link_id}/remove")
    assert LONG_NAME in group and "Midnattsol Drift AS" in group and "set through the API" in group
    assert f'action="{PAGE}/learned/{payers.entries[MIDNATTSOL_ACCOUNT]}/forget"' in page
    assert "Matching will no longer take account" in page, "a confirmation in words before forgetting"
    # the payments page leads here
    assert f'href="{PAGE}"' in credit.get("/console/payments").text


def test_filter_by_account_as_written_or_by_customer(credit: ConsoleClient, payers: Payers) -> None:
    by_account = _text(credit.get(PAGE, params={"q": "1503.20.80"}).text)
    assert "1503.20.80119" in by_account and "9710.05.12345" not in by_account
    by_name = _text(credit.get(PAGE, params={"q": "økologiske"}).text)
    assert "9710.05.12345" in by_name and "1503.20.80119" not in by_name
    by_key = _text(credit.get(PAGE, params={"q": "org:0192:9106"}).text)  # Fjordbyen's key
    assert "1234.56.78903" in by_key and "1503.20.80119" not in by_key
    nothing = _text(credit.get(PAGE, params={"q": "ingen slik kunde"}).text)
    assert "Nothing learned matches “ingen slik kunde”." in nothing
    assert credit.get(PAGE, params={"show": "nonsense"}).status_code == 404


def test_a_viewer_sees_everything_but_may_change_nothing(viewer: ConsoleClient, payers: Payers) -> None:
    page = viewer.get(PAGE).text
    assert "1503.20.80119" in page and LONG_NAME in page
    assert 'method="post" action="/console/payments/payers' not in page
    assert "a credit controller forgets what was learned" in _text(page)
    entry = payers.entries[MIDNATTSOL_ACCOUNT]
    assert viewer.post(f"{PAGE}/learned/{entry}/forget").status_code == 403
    assert viewer.post(f"{PAGE}/groups/{payers.link_id}/remove").status_code == 403
    assert viewer.post(f"{PAGE}/groups", {"customer": LONG_ORG, "parent": "923609016"}).status_code == 403


def test_an_operator_may_not_either(web: TestClient, engine: Engine, payers: Payers) -> None:
    operator = ConsoleClient(web, make_user(engine, "drift@acme.example", "operator"))
    assert 'method="post" action="/console/payments/payers' not in operator.get(PAGE).text
    entry = payers.entries[MIDNATTSOL_ACCOUNT]
    assert operator.post(f"{PAGE}/learned/{entry}/forget").status_code == 403


def test_without_the_csrf_token_nothing_changes(
    credit: ConsoleClient, payers: Payers, web: TestClient, auth: dict[str, str]
) -> None:
    entry = payers.entries[MIDNATTSOL_ACCOUNT]
    assert credit.post(f"{PAGE}/learned/{entry}/forget", csrf=False).status_code == 403
    assert credit.post(f"{PAGE}/groups/{payers.link_id}/remove", csrf=False).status_code == 403
    refused = credit.post(f"{PAGE}/groups", {"customer": "910667831", "parent": "923609016"}, csrf=False)
    assert refused.status_code == 403
    assert len(web.get("/matching/learned", headers=auth).json()["items"]) == 4
    assert len(web.get("/matching/groups", headers=auth).json()["items"]) == 1


def test_another_tenants_entries_are_not_found(web: TestClient, engine: Engine, payers: Payers) -> None:
    stranger = ConsoleClient(web, make_user(engine, "kreditt@globex.example", "credit", tenants=("globex",)))
    page = stranger.get(PAGE).text
    assert "1503.20.80119" not in page and LONG_NAME not in page
    entry = payers.entries[MIDNATTSOL_ACCOUNT]
    assert stranger.post(f"{PAGE}/learned/{entry}/forget").status_code == 404
    assert stranger.post(f"{PAGE}/groups/{payers.link_id}/remove").status_code == 404
    assert stranger.post(f"{PAGE}/learned/0123456789abcdef0123456789abcdef/forget").status_code == 404


def test_forgetting_withdraws_it_as_the_person(
    credit: ConsoleClient, payers: Payers, web: TestClient, auth: dict[str, str]
) -> None:
    entry = payers.entries[MIDNATTSOL_ACCOUNT]
    answer = credit.post(f"{PAGE}/learned/{entry}/forget")
    assert answer.status_code == 303 and answer.headers["location"] == PAGE
    notice = _text(credit.get(PAGE).text)
    assert (
        "Forgotten: matching no longer takes payer account 1503.20.80119 as Midnattsol Drift AS’s." in notice
    )
    standing = web.get("/matching/learned", headers=auth).json()["items"]
    assert MIDNATTSOL_ACCOUNT not in {e["value"] for e in standing}
    [gone] = [
        e
        for e in web.get("/matching/learned", params={"withdrawn": True}, headers=auth).json()["items"]
        if e["id"] == entry
    ]
    assert (gone["standing"], gone["withdrawn_by"]) == ("withdrawn", "console:kreditt@acme.example")
    assert "1503.20.80119" not in credit.get(PAGE).text
    withdrawn = _row(credit.get(PAGE, params={"show": "all"}).text, "1503.20.80119")
    assert "withdrawn" in withdrawn and "by kreditt@acme.example" in withdrawn and "Forget" not in withdrawn
    # the payment that taught it says so
    taught = _text(credit.get(f"/console/payments/{payers.payments['midnattsol']}").text)
    assert (
        "Matching learned from this payment that payer account 1503.20.80119 is Midnattsol Drift AS’s"
        in taught
    )
    assert "Since forgotten by kreditt@acme.example" in taught


def test_a_group_link_is_added_refused_beside_its_field_and_removed(
    credit: ConsoleClient, payers: Payers, web: TestClient, auth: dict[str, str]
) -> None:
    unknown = credit.post(f"{PAGE}/groups", {"customer": "999999999", "parent": "923609016"})
    assert unknown.status_code == 422
    field = re.search(r'<div class="field invalid">.*?</div>', unknown.text, re.S)
    assert field is not None and 'name="customer"' in field.group(0) and 'value="999999999"' in field.group(0)
    assert "no invoice of this tenant names customer" in html.unescape(field.group(0))
    itself = credit.post(f"{PAGE}/groups", {"customer": "923609016", "parent": MIDNATTSOL_KEY})
    assert itself.status_code == 422 and 'id="group-parent-error"' in itself.text
    assert "a customer does not pay for itself" in itself.text
    empty = credit.post(f"{PAGE}/groups", {"customer": "", "parent": ""})
    assert empty.status_code == 422 and "must name a customer" in empty.text

    added = credit.post(f"{PAGE}/groups", {"customer": "910667831", "parent": "923609016"})
    assert added.status_code == 303, added.text
    assert "Midnattsol Drift AS now pays for Fjordbyen Bygg AS" in _text(credit.get(PAGE).text)
    links = {
        (x["customer"], x["parent"]): x for x in web.get("/matching/groups", headers=auth).json()["items"]
    }
    new = links[("org:0192:910667831", MIDNATTSOL_KEY)]
    assert (new["source"], new["created_by"]) == ("api", "console:kreditt@acme.example")

    removed = credit.post(f"{PAGE}/groups/{payers.link_id}/remove")
    assert removed.status_code == 303
    assert f"Removed: Midnattsol Drift AS no longer counts as paying for {LONG_NAME}." in _text(
        credit.get(PAGE).text
    )
    left = [(x["customer"], x["parent"]) for x in web.get("/matching/groups", headers=auth).json()["items"]]
    assert (LONG_KEY, MIDNATTSOL_KEY) not in left and ("org:0192:910667831", MIDNATTSOL_KEY) in left
    assert credit.post(f"{PAGE}/groups/{payers.link_id}/remove").status_code == 404


def test_a_reversal_says_what_matching_forgot(credit: ConsoleClient, payers: Payers) -> None:
    payment = payers.payments["long"]
    before = _text(credit.get(f"/console/payments/{payment}").text)
    assert f"payer account 9710.05.12345 is {LONG_NAME}’s" in before
    answer = credit.post(f"/console/payments/{payment}/reverse", {"reason": "feil kunde"})
    assert answer.status_code == 303
    after = _text(credit.get(f"/console/payments/{payment}").text)
    assert (
        "Reversed by kreditt@acme.example: matching forgot what the automatic application taught "
        "(payer account 9710.05.12345)." in after
    )
    assert "9710.05.12345" not in credit.get(PAGE).text


def test_a_shared_account_note_on_the_payment_that_made_it_shared(
    credit: ConsoleClient, payers: Payers
) -> None:
    text = _text(credit.get(f"/console/payments/{payers.payments['shared_2']}").text)
    assert "What matching learned about the payer" in text
    assert SHARED_ACCOUNT in text or "1234.56.78903" in text


def test_forgetting_one_side_of_a_shared_account_says_and_does_what_follows(
    credit: ConsoleClient, payers: Payers
) -> None:
    entry = payers.entries[SHARED_ACCOUNT]  # the newest: Fjordbyen Bygg AS's
    row = _row(credit.get(PAGE).text, f"/learned/{entry}/forget")
    assert "Fjordbyen Bygg AS" in row and "It then identifies Vestkyst Handel AS again" in row
    assert credit.post(f"{PAGE}/learned/{entry}/forget").status_code == 303
    [left] = [
        _text(row)
        for row in re.findall(r"<tr.*?</tr>", credit.get(PAGE).text, re.S)
        if "1234.56.78903" in row
    ]
    assert "Vestkyst Handel AS" in left and "identifies" in left and "shared" not in left


def test_a_persons_resolution_is_shown_as_taught_by_that_person_and_forgetting_removes_it(
    credit: ConsoleClient, payers: Payers, web: TestClient, auth: dict[str, str]
) -> None:
    view = invoice(web, auth, 305, number="INV-000305")  # Vestkyst Handel AS
    tx = Tx(
        Decimal(view["payable_amount"]), payer="VESTKYST HANDEL", account="86011117947", reference="P-305"
    )
    [payment] = receive(web, auth, camt054([tx], message_id="P-305")).json()["payments"]
    assert payment["status"] == "exception"
    booked = credit.post(
        f"/console/payments/{payment['id']}/allocate",
        {"invoice_1": "INV-000305", "amount_1": view["payable_amount"], "step": "book"},
    )
    assert booked.status_code == 303, booked.text
    page = credit.get(PAGE).text
    row = _row(page, "8601.11.17947")
    assert "Vestkyst Handel AS" in row and "a person’s resolution" in row and "kreditt@acme.example" in row
    assert f'href="/console/payments/{payment["id"]}"' in page
    [taught] = [
        e
        for e in web.get("/matching/learned", headers=auth).json()["items"]
        if (e["source"], e["kind"]) == ("person", "account")
    ]
    assert credit.post(f"{PAGE}/learned/{taught['id']}/forget").status_code == 303
    after = credit.get(PAGE, params={"show": "all"}).text
    assert "Forgotten: matching no longer takes payer account 8601.11.17947 as Vestkyst Handel AS’s" in after
    rows = re.findall(r"<tr.*?</tr>", after, re.S)
    assert not any("8601.11.17947" in row for row in rows), "a person's entry is removed, not kept withdrawn"
