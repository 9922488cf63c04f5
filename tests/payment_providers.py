"""Loopback stand-ins for the payment providers, speaking their real wire formats.

- `StripeStandIn`: `POST /v1/checkout/sessions` (form-encoded, Bearer secret key, Idempotency-Key: the same
  key answers the same session), a hosted checkout page `/c/pay/{id}` whose "pay" posts a card number (the
  test card 4000 0000 0000 0002 is declined: the page says so and nothing is sent) and redirects the browser
  to `success_url`, then POSTs the signed `checkout.session.completed` event to the gateway; "cancel"
  redirects to `cancel_url`, and `expire(session)` later sends `checkout.session.expired`. Events are signed
  the way Stripe signs them (`Stripe-Signature: t=…,v1=hex(HMAC-SHA256(secret, "t.body"))`).
- `VippsStandIn`: `POST /accesstoken/get` (client_id / client_secret / subscription key headers),
  `POST /epayment/v1/payments` (Bearer token, Ocp-Apim-Subscription-Key, Merchant-Serial-Number,
  Idempotency-Key, Vipps-System-Name; the JSON fields checked), a landing page `/landing/{reference}` whose
  "pay" authorizes and redirects to `returnUrl`, then sends AUTHORIZED; `POST …/{reference}/capture` captures
  and sends CAPTURED; "cancel" sends ABORTED. Events are HMAC-signed the Webhooks API's way (x-ms-date,
  x-ms-content-sha256, `HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature=…`).

The signatures here are computed independently of `transports.payment_providers` (a bug there is not
mirrored here). Webhooks go out through one delivery thread per stand-in, in order (a real provider's
retries aside), to the gateway client the test hands over (a TestClient or an httpx client on a served
app); `settle()` waits until every queued event was delivered; `deliveries` keeps what the gateway answered.
"""

from __future__ import annotations

import base64
import email.utils
import hashlib
import hmac
import html
import json
import queue
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import httpx
import pytest

DECLINED_CARD = "4000000000000002"
GOOD_CARD = "4242424242424242"


@dataclass
class Delivery:
    """One webhook as sent and what the gateway answered."""

    body: bytes
    headers: dict[str, str]
    status: int
    answer: Any


def stripe_signature(secret: str, body: bytes, timestamp: int, *extra: str) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return ",".join([f"t={timestamp}", f"v1={digest}", *(f"v1={e}" for e in extra)])


def vipps_headers(secret: str, body: bytes, host: str, path: str, date: str | None = None) -> dict[str, str]:
    date = date or email.utils.formatdate(usegmt=True)
    digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
    signed = f"POST\n{path}\n{date};{host};{digest}"
    mac = base64.b64encode(hmac.new(secret.encode(), signed.encode(), hashlib.sha256).digest()).decode()
    return {
        "Content-Type": "application/json",
        "x-ms-date": date,
        "x-ms-content-sha256": digest,
        "Authorization": f"HMAC-SHA256 SignedHeaders=x-ms-date;host;x-ms-content-sha256&Signature={mac}",
    }


class _StandIn:
    """A threaded loopback HTTP server with routes, and an in-order webhook delivery thread."""

    webhook_path = ""

    def __init__(self) -> None:
        self.gateway: httpx.Client | None = None
        self.deliveries: list[Delivery] = []
        self.requests: list[tuple[str, str, dict[str, str], bytes]] = []
        self._queue: queue.Queue[tuple[bytes, dict[str, str]] | None] = queue.Queue()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _handle(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                headers = {k: v for k, v in self.headers.items()}
                stand_in.requests.append((method, self.path, headers, body))
                status, answer_headers, answer = stand_in.route(method, self.path, headers, body)
                self.send_response(status)
                for name, value in answer_headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def do_GET(self) -> None:
                self._handle("GET")

            def do_POST(self) -> None:
                self._handle("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._threads = [
            threading.Thread(target=self.server.serve_forever, daemon=True),
            threading.Thread(target=self._deliver_forever, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def close(self) -> None:
        self._queue.put(None)
        self.server.shutdown()
        self.server.server_close()

    # -- routes --
    def route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        raise NotImplementedError

    @staticmethod
    def json_answer(status: int, data: Any) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "application/json"}, json.dumps(data).encode()

    @staticmethod
    def html_answer(text: str, status: int = 200) -> tuple[int, dict[str, str], bytes]:
        return status, {"Content-Type": "text/html; charset=utf-8"}, text.encode()

    @staticmethod
    def redirect(to: str) -> tuple[int, dict[str, str], bytes]:
        return 303, {"Location": to}, b""

    # -- webhooks --
    def sign(self, body: bytes) -> dict[str, str]:
        raise NotImplementedError

    def queue_event(self, body: bytes) -> None:
        """Send after the current answer (in order, on the delivery thread)."""
        self._queue.put((body, {}))

    def send_now(self, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        """POST a webhook at once from the caller's thread (signed unless `headers` are given)."""
        assert self.gateway is not None, "hand the stand-in the gateway client first"
        sent = headers if headers is not None else self.sign(body)
        answer = self.gateway.post(self.webhook_path, content=body, headers=sent)
        self.deliveries.append(Delivery(body, sent, answer.status_code, _json(answer)))
        return answer

    def settle(self, timeout: float = 20.0) -> None:
        """Wait until every queued event has been delivered."""
        deadline = time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                raise TimeoutError("webhooks still queued")
            time.sleep(0.02)

    def _deliver_forever(self) -> None:
        while True:
            item = self._queue.get()
            try:
                if item is None:
                    return
                body, _ = item
                try:
                    self.send_now(body)
                except Exception as error:  # kept for the test to see
                    self.deliveries.append(Delivery(body, {}, 0, repr(error)))
            finally:
                self._queue.task_done()


def _json(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return answer.text


class StripeStandIn(_StandIn):
    """Stripe's API and hosted Checkout, for one account."""

    webhook_path = "/portal/providers/stripe/webhook"

    def __init__(self, secret_key: str = "sk_test_standin", webhook_secret: str = "whsec_standin") -> None:
        self.secret_key = secret_key
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.forms: dict[str, list[tuple[str, str]]] = {}
        self._by_key: dict[str, str] = {}
        #: balance transactions by payout id (`payout()` pays out every charge not paid out yet)
        self.payouts: dict[str, list[dict[str, Any]]] = {}
        self._paid_out: set[str] = set()
        super().__init__()

    def route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        if method == "POST" and parts.path == "/v1/checkout/sessions":
            return self._create(headers, body)
        if method == "GET" and parts.path == "/v1/balance_transactions":
            return self._balance_transactions(headers, parts.query)
        match = re.fullmatch(r"/c/pay/(cs_test_\w+)(/pay|/cancel)?", parts.path)
        if match and match.group(1) in self.sessions:
            session = self.sessions[match.group(1)]
            if method == "GET" and not match.group(2):
                return self.html_answer(self._page(session))
            if method == "POST" and match.group(2) == "/pay":
                card = dict(parse_qsl(body.decode())).get("card", "").replace(" ", "")
                if card == DECLINED_CARD:
                    return self.html_answer(self._page(session, "Your card was declined."), 402)
                return self.pay(session["id"])
            if method == "POST" and match.group(2) == "/cancel":
                return self.redirect(session["cancel_url"])
        return self.json_answer(
            404, {"error": {"type": "invalid_request_error", "message": "Unrecognized request URL"}}
        )

    def _create(self, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, str], bytes]:
        if headers.get("Authorization") != f"Bearer {self.secret_key}":
            return self.json_answer(
                401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
            )
        if not headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            return self.json_answer(400, {"error": {"message": "form-encoded bodies only"}})
        form = parse_qsl(body.decode(), keep_blank_values=True)
        fields = dict(form)
        missing = [
            name
            for name in ("mode", "success_url", "cancel_url", "client_reference_id")
            if not fields.get(name)
        ]
        if missing or fields.get("mode") != "payment":
            return self.json_answer(400, {"error": {"message": f"missing or wrong: {missing or 'mode'}"}})
        key = headers.get("Idempotency-Key")
        if key and key in self._by_key:
            return self.json_answer(200, self.sessions[self._by_key[key]])
        total, currency, index = 0, None, 0
        while f"line_items[{index}][price_data][unit_amount]" in fields:
            prefix = f"line_items[{index}]"
            line_currency = fields[f"{prefix}[price_data][currency]"]
            if line_currency != line_currency.lower() or not fields.get(
                f"{prefix}[price_data][product_data][name]"
            ):
                return self.json_answer(400, {"error": {"message": f"{prefix}: bad price_data"}})
            currency = currency or line_currency
            total += int(fields[f"{prefix}[price_data][unit_amount]"]) * int(
                fields.get(f"{prefix}[quantity]", "1")
            )
            index += 1
        if index == 0:
            return self.json_answer(400, {"error": {"message": "line_items required in payment mode"}})
        session_id = "cs_test_" + secrets.token_hex(12)
        session = {
            "id": session_id,
            "object": "checkout.session",
            "mode": "payment",
            "status": "open",
            "payment_status": "unpaid",
            "amount_total": total,
            "currency": currency,
            "client_reference_id": fields["client_reference_id"],
            "customer_email": fields.get("customer_email"),
            "customer_details": None,
            "metadata": {k[9:-1]: v for k, v in form if k.startswith("metadata[")},
            "payment_intent": None,
            "success_url": fields["success_url"],
            "cancel_url": fields["cancel_url"],
            "url": f"{self.base}/c/pay/{session_id}",
        }
        self.sessions[session_id] = session
        self.forms[session_id] = form
        if key:
            self._by_key[key] = session_id
        return self.json_answer(200, session)

    def _page(self, session: dict[str, Any], message: str = "") -> str:
        amount = f"{session['amount_total'] / 100:.2f} {session['currency'].upper()}"
        return (
            f"<!doctype html><title>Stripe Checkout</title><h1>Pay {html.escape(amount)}</h1>"
            f"<p role='alert'>{html.escape(message)}</p>"
            f"<form method='post' action='/c/pay/{session['id']}/pay'><label>Card <input name='card' "
            f"value='{GOOD_CARD}'></label><button id='pay'>Pay</button></form>"
            f"<form method='post' action='/c/pay/{session['id']}/cancel'>"
            "<button id='cancel'>Back</button></form>"
        )

    def pay(self, session_id: str, *, deliver: bool = True) -> tuple[int, dict[str, str], bytes]:
        """The customer paid: the session completes, the browser goes to success_url, the event follows."""
        session = self.sessions[session_id]
        session.update(
            status="complete",
            payment_status="paid",
            payment_intent="pi_" + secrets.token_hex(12),
            customer_details={"email": session.get("customer_email"), "name": "Kari Kunde"},
        )
        if deliver:
            self.queue_event(self.event_body("checkout.session.completed", session))
        return self.redirect(session["success_url"])

    def _balance_transactions(self, headers: dict[str, str], query: str) -> tuple[int, dict[str, str], bytes]:
        """`GET /v1/balance_transactions?payout=po_…&expand[]=data.source`: Stripe's list object, paged by
        `limit` and `starting_after`."""
        if headers.get("Authorization") != f"Bearer {self.secret_key}":
            return self.json_answer(
                401, {"error": {"type": "invalid_request_error", "message": "Invalid API Key provided"}}
            )
        params = parse_qs(query)
        rows = self.payouts.get((params.get("payout") or [""])[0], [])
        if "starting_after" in params:
            ids = [row["id"] for row in rows]
            rows = rows[ids.index(params["starting_after"][0]) + 1 :]
        limit = int((params.get("limit") or ["10"])[0])
        return self.json_answer(
            200,
            {
                "object": "list",
                "url": "/v1/balance_transactions",
                "has_more": len(rows) > limit,
                "data": rows[:limit],
            },
        )

    def payout(self, fee_percent: Decimal = Decimal("2.4"), fixed_fee: int = 200) -> tuple[str, int, bytes]:
        """Pay out every paid session not paid out yet, less Stripe's fee per charge (minor units): the
        payout's id, its net amount and its `payout.paid` event (queued for the gateway, also returned)."""
        payout_id = "po_" + secrets.token_hex(12)
        rows: list[dict[str, Any]] = []
        for session in self.sessions.values():
            intent = session.get("payment_intent")
            if session.get("payment_status") != "paid" or intent in self._paid_out:
                continue
            self._paid_out.add(intent)
            amount = int(session["amount_total"])
            fee = int((Decimal(amount) * fee_percent / 100).to_integral_value()) + fixed_fee
            rows.append({
                "id": "txn_" + secrets.token_hex(12), "object": "balance_transaction", "type": "charge",
                "reporting_category": "charge", "amount": amount, "fee": fee, "net": amount - fee,
                "currency": session["currency"], "status": "available", "created": int(time.time()),
                "source": {"id": "ch_" + secrets.token_hex(12), "object": "charge", "amount": amount,
                           "currency": session["currency"], "payment_intent": intent, "paid": True},
            })  # fmt: skip
        net = sum(row["net"] for row in rows)
        currency = rows[0]["currency"] if rows else "nok"
        rows.append({"id": "txn_" + secrets.token_hex(12), "object": "balance_transaction",
                     "type": "payout", "amount": -net, "fee": 0, "net": -net, "currency": currency,
                     "source": payout_id})  # fmt: skip
        self.payouts[payout_id] = rows
        payout = {"id": payout_id, "object": "payout", "amount": net, "currency": currency,
                  "arrival_date": int(time.time()), "status": "paid", "automatic": True,
                  "type": "bank_account"}  # fmt: skip
        body = self.event_body("payout.paid", payout)
        self.queue_event(body)
        return payout_id, net, body

    def expire(self, session_id: str) -> bytes:
        """Stripe expires an abandoned session (24 h later in life): the event is sent now."""
        session = self.sessions[session_id]
        session.update(status="expired")
        body = self.event_body("checkout.session.expired", session)
        self.queue_event(body)
        return body

    def event_body(self, event_type: str, obj: dict[str, Any], event_id: str | None = None) -> bytes:
        event = {
            "id": event_id or "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "livemode": False,
            "pending_webhooks": 1,
            "type": event_type,
            "data": {"object": {k: v for k, v in obj.items() if k not in ("success_url", "cancel_url")}},
        }
        return json.dumps(event).encode()

    def sign(self, body: bytes, *, secret: str | None = None, timestamp: int | None = None) -> dict[str, str]:
        stamp = int(time.time()) if timestamp is None else timestamp
        return {
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature(secret or self.webhook_secret, body, stamp),
        }

    def settings(self) -> dict[str, str]:
        return {"secret_key": self.secret_key, "webhook_secret": self.webhook_secret, "api_base": self.base}


class VippsStandIn(_StandIn):
    """Vipps MobilePay's access token, ePayment and Webhooks APIs, for one sales unit."""

    webhook_path = "/portal/providers/vipps/webhook"

    def __init__(
        self,
        client_id: str = "vipps-client",
        client_secret: str = "vipps-secret",
        subscription_key: str = "vipps-subscription",
        msn: str = "123456",
        webhook_secret: str = "vipps-webhook-secret",
    ) -> None:
        self.client_id, self.client_secret, self.subscription_key = client_id, client_secret, subscription_key
        self.msn, self.webhook_secret = msn, webhook_secret
        self.tokens: set[str] = set()
        self.payments: dict[str, dict[str, Any]] = {}
        self.captures: list[tuple[str, dict[str, Any], str]] = []
        self.gateway_host = "testserver"
        super().__init__()

    def route(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(path)
        if method == "POST" and parts.path == "/accesstoken/get":
            presented = (headers.get("client_id"), headers.get("client_secret"))
            if (*presented, headers.get("Ocp-Apim-Subscription-Key")) != (
                self.client_id, self.client_secret, self.subscription_key,
            ):  # fmt: skip
                return self.json_answer(401, {"error": "unauthorized_client"})
            token = secrets.token_urlsafe(24)
            self.tokens.add(token)
            return self.json_answer(
                200,
                {"token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599", "expires_on": "0",
                 "not_before": "0", "resource": "00000002-0000-0000-c000-000000000000",
                 "access_token": token},
            )  # fmt: skip
        if method == "POST" and parts.path.startswith("/epayment/v1/payments"):
            problem = self._check_headers(headers)
            if problem:
                return self.json_answer(401 if "token" in problem else 400, {"title": problem})
            if parts.path == "/epayment/v1/payments":
                return self._create(json.loads(body or b"{}"))
            match = re.fullmatch(r"/epayment/v1/payments/([a-zA-Z0-9-]{8,64})/capture", parts.path)
            if match and match.group(1) in self.payments:
                return self._capture(match.group(1), json.loads(body or b"{}"), headers["Idempotency-Key"])
            return self.json_answer(404, {"title": "Not found"})
        match = re.fullmatch(r"/landing/([a-zA-Z0-9-]{8,64})(/pay|/cancel)?", parts.path)
        if match and match.group(1) in self.payments:
            payment = self.payments[match.group(1)]
            if method == "GET" and not match.group(2):
                return self.html_answer(
                    f"<!doctype html><title>Vipps</title><h1>Betal {payment['amount']['value'] / 100:.2f} "
                    f"{payment['amount']['currency']}</h1><form method='post' "
                    f"action='/landing/{payment['reference']}/pay'><button id='pay'>Betal</button></form>"
                    f"<form method='post' action='/landing/{payment['reference']}/cancel'>"
                    "<button id='cancel'>Avbryt</button></form>"
                )
            if method == "POST" and match.group(2) == "/pay":
                return self.authorize(payment["reference"])
            if method == "POST" and match.group(2) == "/cancel":
                payment["state"] = "ABORTED"
                self.queue_event(self.event_body(payment, "ABORTED"))
                return self.redirect(payment["returnUrl"])
        return self.json_answer(404, {"title": "Not found"})

    def _check_headers(self, headers: dict[str, str]) -> str | None:
        authorization = headers.get("Authorization", "")
        if not authorization.startswith("Bearer ") or authorization[7:] not in self.tokens:
            return "invalid access token"
        for name, wanted in (
            ("Ocp-Apim-Subscription-Key", self.subscription_key),
            ("Merchant-Serial-Number", self.msn),
        ):
            if headers.get(name) != wanted:
                return f"{name} is wrong"
        if not headers.get("Idempotency-Key") or not headers.get("Vipps-System-Name"):
            return "Idempotency-Key and Vipps-System-Name are required"
        return None

    def _create(self, data: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
        reference = str(data.get("reference", ""))
        amount = data.get("amount") or {}
        if not re.fullmatch(r"[a-zA-Z0-9-]{8,64}", reference):
            return self.json_answer(400, {"title": "reference", "detail": "8-64 of a-zA-Z0-9-"})
        if not isinstance(amount.get("value"), int) or amount.get("currency") not in ("NOK", "DKK", "EUR"):
            return self.json_answer(400, {"title": "amount"})
        if data.get("paymentMethod") != {"type": "WALLET"} or data.get("userFlow") != "WEB_REDIRECT":
            return self.json_answer(400, {"title": "paymentMethod / userFlow"})
        if not str(data.get("returnUrl", "")).startswith(("http://", "https://")):
            return self.json_answer(400, {"title": "returnUrl"})
        if reference in self.payments:
            payment = self.payments[reference]
        else:
            payment = {**data, "state": "CREATED", "psp": secrets.token_hex(8)}
            self.payments[reference] = payment
        return self.json_answer(
            201, {"redirectUrl": f"{self.base}/landing/{reference}", "reference": reference}
        )

    def authorize(self, reference: str) -> tuple[int, dict[str, str], bytes]:
        payment = self.payments[reference]
        payment["state"] = "AUTHORIZED"
        self.queue_event(self.event_body(payment, "AUTHORIZED"))
        return self.redirect(payment["returnUrl"])

    def _capture(self, reference: str, data: dict[str, Any], key: str) -> tuple[int, dict[str, str], bytes]:
        payment = self.payments[reference]
        amount = data.get("modificationAmount") or {}
        if payment["state"] not in ("AUTHORIZED", "CAPTURED") or amount != payment["amount"]:
            return self.json_answer(400, {"title": "capture not allowed", "detail": payment["state"]})
        psp = "capture-" + hashlib.sha256(key.encode()).hexdigest()[:12]
        if payment["state"] == "AUTHORIZED":
            payment["state"] = "CAPTURED"
            self.captures.append((reference, amount, key))
            self.queue_event(self.event_body(payment, "CAPTURED", psp))
        return self.json_answer(
            200,
            {"amount": payment["amount"], "state": "AUTHORIZED",
             "aggregate": {"capturedAmount": payment["amount"]}, "pspReference": psp, "reference": reference},
        )  # fmt: skip

    def event_body(self, payment: dict[str, Any], name: str, psp: str | None = None) -> bytes:
        event = {
            "msn": self.msn,
            "reference": payment["reference"],
            "pspReference": psp or payment["psp"],
            "name": name,
            "amount": payment["amount"],
            "timestamp": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime()),
            "idempotencyKey": None,
            "success": True,
        }
        return json.dumps(event).encode()

    def sign(self, body: bytes, *, secret: str | None = None, date: str | None = None) -> dict[str, str]:
        return vipps_headers(secret or self.webhook_secret, body, self.gateway_host, self.webhook_path, date)

    def settings(self) -> dict[str, str]:
        return {
            "client_id": self.client_id,
            "client_secret": self.client_secret,
            "subscription_key": self.subscription_key,
            "merchant_serial_number": self.msn,
            "webhook_secret": self.webhook_secret,
            "api_base": self.base,
        }


@contextmanager
def running(stand_in_class: Callable[[], _StandIn]) -> Iterator[Any]:
    stand_in = stand_in_class()
    try:
        yield stand_in
    finally:
        stand_in.close()


@pytest.fixture
def stripe() -> Iterator[StripeStandIn]:
    """The Stripe stand-in on loopback, for one test (import it into the test module to use it)."""
    with running(StripeStandIn) as stand_in:
        yield stand_in


@pytest.fixture
def vipps() -> Iterator[VippsStandIn]:
    """The Vipps stand-in on loopback, for one test."""
    with running(VippsStandIn) as stand_in:
        yield stand_in


def providers_file(path: Path, **tenants: dict[str, Any]) -> Path:
    """The payment providers file (`GATEWAY_PAYMENT_PROVIDERS_FILE`) naming each tenant's providers."""
    path.write_text(json.dumps(tenants))
    return path


__all__ = [
    "DECLINED_CARD",
    "GOOD_CARD",
    "Delivery",
    "StripeStandIn",
    "VippsStandIn",
    "providers_file",
    "running",
    "stripe",
    "vipps",
]
