"""A real SMTP server on loopback (aiosmtpd) that keeps what the portal sends, and a portal app whose e-mail
settings point at it: the sign-in and invitation tests read their links out of real messages."""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import InvoiceRecord, Receiver, Tenant
from gateway.api.app import create_app
from gateway.settings import Settings

LINK = re.compile(r"https?://\S+/portal/link/[A-Za-z0-9_-]+(?:\?\S+)?")


@dataclass
class Mailbox:
    """What arrived: each message parsed, with its envelope recipients."""

    port: int
    messages: list[tuple[list[str], EmailMessage]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        message = email.message_from_bytes(raw, policy=email.policy.default)
        assert isinstance(message, EmailMessage)
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), message))
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self.lock:
            return [message for rcpts, message in self.messages if address in rcpts]

    def wait_for(self, address: str, count: int = 1, timeout: float = 10.0) -> EmailMessage:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.to(address)
            if len(found) >= count:
                return found[count - 1]
            time.sleep(0.02)
        raise AssertionError(f"no message {count} to {address} within {timeout} s")

    def link_to(self, address: str, count: int = 1) -> str:
        body = self.wait_for(address, count).get_body(("plain",))
        assert body is not None
        match = LINK.search(body.get_content())
        assert match, "no link in the message"
        return match.group(0)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    box = Mailbox(port=_free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()


def mail_settings(settings: Settings, box: Mailbox, **more: Any) -> Settings:
    """`settings` with the e-mail channel on the mailbox's server (plain SMTP on loopback)."""
    email_channel = {
        "host": "127.0.0.1",
        "port": box.port,
        "security": "none",
        "from_address": "faktura@acme.test",
    }
    return settings.model_copy(update={"channels": {**settings.channels, "email": email_channel}, **more})


@pytest.fixture
def portal_client(settings: Settings, engine: Engine, mailbox: Mailbox) -> Iterator[TestClient]:
    """A TestClient (base URL https://testserver: the cookies are those of a TLS site) whose app sends its
    portal mail to `mailbox`."""
    app = create_app(mail_settings(settings, mailbox), engine)
    with TestClient(app, base_url="https://testserver") as client:
        yield client


def seed_customer(
    engine: Engine,
    tenant_id: str = "acme",
    receiver_id: str = "C1",
    email_address: str | None = "AP@Customer.test",
) -> None:
    """The tenant and a receiver profile naming `email_address` as its e-mail."""
    with session_scope(engine) as session:
        if session.get(Tenant, tenant_id) is None:
            session.add(Tenant(id=tenant_id, name=f"{tenant_id.title()} AS"))
            session.flush()
        addresses = {"folder": receiver_id, **({"email": email_address} if email_address else {})}
        profile = {"receiver_id": receiver_id, "preferred_channel": "folder", "addresses": addresses}
        session.add(Receiver(tenant_id=tenant_id, receiver_id=receiver_id, profile=profile))


def seed_invoice(engine: Engine, tenant_id: str, receiver_id: str | None, number: str = "10001") -> str:
    """An invoice record of the tenant for `receiver_id` (only what an invoice link needs)."""
    with session_scope(engine) as session:
        record = InvoiceRecord(
            tenant_id=tenant_id,
            idempotency_key=f"key-{number}",
            payload_sha256="0" * 64,
            document_type="invoice",
            number=number,
            issue_date=dt.date(2026, 11, 1),
            currency="NOK",
            payable_amount="1250.00",
            buyer_name="Customer AS",
            receiver_id=receiver_id,
            payload="{}",
        )
        session.add(record)
        session.flush()
        return record.id
