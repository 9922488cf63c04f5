"""Invoice links: signed for one invoice, refused when changed, made only with a public portal address."""

from __future__ import annotations

from pathlib import Path

from pydantic import SecretStr

from gateway.services.portal.links import invoice_link, invoice_link_token, read_invoice_link
from gateway.settings import Settings


def _settings(tmp_path: Path, base: str | None = "https://faktura.example.no/") -> Settings:
    return Settings(
        data_dir=tmp_path, console_secret=SecretStr("k" * 40), portal_base_url=base, _env_file=None
    )  # type: ignore[call-arg]


def test_a_link_names_its_invoice_and_nothing_else(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    link = invoice_link(settings, "acme", "inv1")
    assert link is not None and link.startswith("https://faktura.example.no/portal/i/")
    token = link.rsplit("/", 1)[1]
    named = read_invoice_link(settings, token)
    assert named is not None and (named.tenant_id, named.invoice_id) == ("acme", "inv1")
    other = invoice_link_token(settings, "acme", "inv2")
    assert read_invoice_link(settings, other) != named
    tampered = token[:-2] + ("AA" if token[-2:] != "AA" else "BB")
    assert read_invoice_link(settings, tampered) is None
    assert read_invoice_link(settings, "x" * 500) is None


def test_another_installation_key_or_purpose_is_refused(tmp_path: Path) -> None:
    token = invoice_link_token(_settings(tmp_path), "acme", "inv1")
    stranger = Settings(data_dir=tmp_path, console_secret=SecretStr("z" * 40), _env_file=None)  # type: ignore[call-arg]
    assert read_invoice_link(stranger, token) is None


def test_no_public_address_no_link(tmp_path: Path) -> None:
    assert invoice_link(_settings(tmp_path, None), "acme", "inv1") is None
