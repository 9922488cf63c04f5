"""`gateway portal invite | users | disable`: the invitation goes out by e-mail (a real SMTP server on
loopback), the command never prints the link; a customer's users are listed and disabled by address."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.cli.conftest import invoke
from tests.portal.mailbox import Mailbox, mailbox, seed_customer

__all__ = ["mailbox"]  # fixture


def test_invite_list_and_disable(
    cli_env: Settings, engine: Engine, mailbox: Mailbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    seed_customer(engine, email_address=None)
    no_base = invoke("portal", "invite", "C1", "ap@customer.test", "--tenant", "acme")
    assert no_base.exit_code == 2 and "GATEWAY_PORTAL_BASE_URL" in no_base.output
    monkeypatch.setenv("GATEWAY_PORTAL_BASE_URL", "https://faktura.acme.test")
    email_channel = {
        "host": "127.0.0.1",
        "port": mailbox.port,
        "security": "none",
        "from_address": "f@acme.test",
    }
    monkeypatch.setenv("GATEWAY_CHANNELS", json.dumps({"email": email_channel}))
    invited = invoke(
        "portal", "invite", "C1", "AP@customer.test", "--language", "en", "--as", "kari", "--tenant", "acme"
    )
    assert invited.exit_code == 0, invited.output
    assert "invited ap@customer.test to customer C1" in invited.output
    link = mailbox.link_to("ap@customer.test")
    assert link.startswith("https://faktura.acme.test/portal/link/")
    assert link.rsplit("/", 1)[1] not in invited.output
    unknown = invoke("portal", "invite", "C9", "x@customer.test", "--tenant", "acme")
    assert unknown.exit_code == 1 and "no customer 'C9'" in unknown.output
    bad = invoke("portal", "invite", "C1", "not an address", "--tenant", "acme")
    assert bad.exit_code == 2
    listed = invoke("portal", "users", "C1", "--tenant", "acme", "--json")
    assert listed.exit_code == 0, listed.output
    (user,) = json.loads(listed.output)["items"]
    assert (
        user["email"] == "ap@customer.test"
        and user["invited_by"] == "cli:kari"
        and user["disabled_at"] is None
    )
    assert user["language"] == "en" and "password_hash" not in user
    assert invoke("portal", "users", "C1", "--tenant", "globex").exit_code == 1
    disabled = invoke("portal", "disable", "C1", "ap@customer.test", "--tenant", "acme")
    assert disabled.exit_code == 0 and "disabled ap@customer.test" in disabled.output
    again = json.loads(invoke("portal", "users", "C1", "--tenant", "acme", "--json").output)["items"]
    assert again[0]["disabled_at"] is not None
    assert invoke("portal", "disable", "C1", "nobody@customer.test", "--tenant", "acme").exit_code == 1
