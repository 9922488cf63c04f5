"""Webhooks to the tenant's ERP: endpoints, events written with the change they report, signed sending.

Events are an outbox: `record_event` (and the deviation tracker) write one `webhook_events` row per
matching active endpoint in the transaction of the change, so an event exists exactly when the change
does. A worker step claims due rows with a lease (one `UPDATE … RETURNING`, as the delivery queue does),
POSTs them and records the outcome under the lease token.

Signature: `X-Gateway-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>`. The ERP
recomputes the HMAC over the raw body bytes it received, compares in constant time, and refuses a `t` more
than `SIGNATURE_TOLERANCE_SECONDS` away from its clock (a replayed request). Each retry is signed afresh
with a new `t`; the event id (`X-Gateway-Event-Id`, also `id` in the body) stays the same, so the ERP
de-duplicates on it.

Retries: 2xx → delivered. Timeouts, connection errors, 408, 429 and 5xx → retried with exponential
backoff (`Retry-After` honoured for 429/503) up to `max_tries`, then failed with the last error. Other
3xx/4xx (redirects are not followed), a refused address and an HTTPS certificate that does not verify for
the URL's host usually mean a wrong URL, secret or certificate on the ERP's side, which is often fixed within
minutes: they are retried too, but only `REFUSED_MAX_TRIES` times in all, then failed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import hmac
import json
import secrets
import ssl
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
from sqlalchemy import Engine, delete, func, insert, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, InvoiceRecord, WebhookEndpoint, WebhookEvent, new_id, utcnow
from gateway.services.net_policy import (
    AddressPolicy,
    AddressRefused,
    RefusedConnection,
    check_url,
    pinned_client,
)
from gateway.settings import Settings
from outbox.hooks import StatusChange
from outbox.lease import LeasedTable, LeaseLost, claim_due, write_under_lease
from outbox.retry import RetryPolicy

STATUS_CHANGED, DEVIATION_OPENED, DEVIATION_CLOSED = (
    "delivery.status_changed",
    "deviation.opened",
    "deviation.closed",
)
EVENT_TYPES = frozenset({STATUS_CHANGED, DEVIATION_OPENED, DEVIATION_CLOSED})
ALL_EVENTS = "*"
SIGNATURE_TOLERANCE_SECONDS = 300
#: 3xx and 4xx other than 408/429: tries in all before the event fails.
REFUSED_MAX_TRIES = 3
#: How long a process trusts its "tenant → active endpoints" list (other processes' changes show after this).
ENDPOINT_CACHE_SECONDS = 5.0
DEFAULT_WEBHOOK_POLICY = RetryPolicy(base_seconds=30.0, factor=2.0, max_delay_seconds=3600.0, max_tries=10)

PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
#: The default address policy: public addresses only.
PUBLIC_ONLY = AddressPolicy()

_events = WebhookEvent.__table__  # type: ignore[attr-defined]
_endpoints = WebhookEndpoint.__table__  # type: ignore[attr-defined]
_INSERT_EVENT = insert(_events)
#: An event's lease while a worker sends it: `lease_token`, `lease_expires_at` (no holder, no touch time).
EVENT_LEASES = LeasedTable(_events, noun="webhook event", holder=None, updated_at=None)


class WebhookError(ValueError):
    """A webhook endpoint that cannot be accepted (bad URL, unknown event type); `field` names the input
    (`url`, `events`) and `reason` says why."""

    def __init__(self, reason: str, field: str = "url") -> None:
        super().__init__(reason)
        self.field = field
        self.reason = reason


def webhook_addresses(settings: Settings) -> AddressPolicy:
    """Where webhooks may go (`webhook_allow_private`, `webhook_allowed_networks`): public addresses only,
    unless the operator allows more."""
    return AddressPolicy.of(settings.webhook_allow_private, settings.webhook_allowed_networks)


@dataclass(frozen=True)
class _Endpoint:
    id: str
    events: frozenset[str]

    def wants(self, event_type: str) -> bool:
        return ALL_EVENTS in self.events or event_type in self.events


# (database URL, tenant) → (read at, active endpoints); keyed by database so two outboxes never mix
_cache: dict[tuple[str, str], tuple[float, tuple[_Endpoint, ...]]] = {}


def invalidate_endpoint_cache() -> None:
    """Forget every cached endpoint list (after an endpoint is added, changed or removed)."""
    _cache.clear()


def _active_endpoints(session: Session, tenant_id: str) -> tuple[_Endpoint, ...]:
    key = (str(session.get_bind().engine.url), tenant_id)
    now = time.monotonic()
    cached = _cache.get(key)
    if cached is not None and now - cached[0] < ENDPOINT_CACHE_SECONDS:
        return cached[1]
    rows = session.execute(
        select(_endpoints.c.id, _endpoints.c.events).where(
            _endpoints.c.tenant_id == tenant_id, _endpoints.c.active.is_(True)
        )
    )
    found = tuple(_Endpoint(row.id, frozenset(row.events or ())) for row in rows)
    _cache[key] = (now, found)
    return found


def emit(
    session: Session, tenant_id: str, event_type: str, payload: dict[str, Any], *, at: dt.datetime
) -> int:
    """Write `payload` as one pending event per active endpoint of the tenant that wants it; how many."""
    endpoints = [e for e in _active_endpoints(session, tenant_id) if e.wants(event_type)]
    if not endpoints:
        return 0
    body = {
        "id": f"evt_{new_id()}",
        "type": event_type,
        "occurred_at": at.isoformat(),
        "tenant": tenant_id,
        **payload,
    }
    session.execute(
        _INSERT_EVENT,
        [
            {
                "endpoint_id": endpoint.id,
                "tenant_id": tenant_id,
                "event_type": event_type,
                "payload": body,
                "status": PENDING,
                "tries": 0,
                "next_attempt_at": at,
                "created_at": at,
            }
            for endpoint in endpoints
        ],
    )
    return len(endpoints)


def wants_any(session: Session, tenant_id: str, event_type: str) -> bool:
    return any(e.wants(event_type) for e in _active_endpoints(session, tenant_id))


def delivery_facts(session: Session, delivery_id: str) -> dict[str, Any]:
    """The invoice number and channel of a delivery, for an event's payload."""
    row = session.execute(
        select(col(Delivery.channel), col(InvoiceRecord.number))
        .outerjoin(InvoiceRecord, col(InvoiceRecord.id) == col(Delivery.invoice_id))  # an EDI ack has none
        .where(col(Delivery.id) == delivery_id)
    ).first()
    return {"channel": row[0], "invoice_number": row[1]} if row else {"channel": None, "invoice_number": None}


def emit_status_change(session: Session, change: StatusChange, cause: str | None) -> None:
    """`delivery.status_changed` for one history row (`change`: the row `record_event` wrote)."""
    tenant_id = change.tenant_id
    if not wants_any(session, tenant_id, STATUS_CHANGED):
        return
    emit(
        session,
        tenant_id,
        STATUS_CHANGED,
        {
            "invoice_id": change.invoice_id,
            "delivery_id": change.delivery_id,
            **delivery_facts(session, change.delivery_id),
            "attempt": change.attempt,
            "from_status": change.from_status,
            "to_status": change.to_status,
            "reason": change.reason,
            "actor": change.actor,
            "deviation_cause": cause,
        },
        at=change.at,
    )


# --- endpoints ---------------------------------------------------------------------------------------------


def _check(url: str, events: Sequence[str], addresses: AddressPolicy | None) -> list[str]:
    """The events wanted, when they are known and (`addresses` given) the URL is an http(s) URL whose host
    is an address `addresses` allows: it is resolved now, so a refusal is said at once, not as failed
    events later."""
    unknown = sorted(set(events) - EVENT_TYPES - {ALL_EVENTS})
    if unknown:
        raise WebhookError(f"unknown event type(s) {unknown}; known: {sorted(EVENT_TYPES)} or '*'", "events")
    try:
        if addresses is not None:
            check_url(url, addresses)
        elif httpx.URL(url).scheme not in {"http", "https"}:
            raise AddressRefused("an absolute http(s) URL is needed")
    except (AddressRefused, httpx.InvalidURL) as error:
        raise WebhookError(str(error)) from None
    return sorted(set(events)) or [ALL_EVENTS]


def endpoint_view(endpoint: WebhookEndpoint, *, secret: str | None = None) -> dict[str, Any]:
    view: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "events": endpoint.events,
        "active": endpoint.active,
        "created_at": endpoint.created_at.isoformat(),
    }
    if secret is not None:
        view["secret"] = secret
    return view


def put_endpoint(
    session: Session,
    tenant_id: str,
    *,
    url: str,
    events: Sequence[str] = (ALL_EVENTS,),
    secret: str | None = None,
    active: bool = True,
    actor: str,
    reason: str | None = None,
    addresses: AddressPolicy = PUBLIC_ONLY,
) -> tuple[WebhookEndpoint, bool, str | None]:
    """Add an endpoint, or change the tenant's endpoint with the same URL; (endpoint, created, secret).

    The secret is returned only when it was generated here (shown once, never again); a given one is kept
    as given and not echoed. What changed goes into the tenant's history with `actor` (a secret only as
    "replaced"). A new endpoint's URL must resolve to addresses `addresses` allows
    (`webhook_addresses(settings)`), else `WebhookError` names the field and the reason; an existing one's
    URL was judged when it was added (switching it off must always work), and every send judges it again.
    """
    from gateway.services.tenancy.history import changes_between, record_tenant_event
    from gateway.services.tenancy.tenants import ensure_tenant

    ensure_tenant(session, tenant_id)
    endpoint = session.execute(
        select(WebhookEndpoint).where(
            col(WebhookEndpoint.tenant_id) == tenant_id, col(WebhookEndpoint.url) == url
        )
    ).scalar_one_or_none()
    wanted = _check(url, events, addresses if endpoint is None else None)
    generated = None
    created = endpoint is None
    before = {} if endpoint is None else _recorded(endpoint)
    if endpoint is None:
        if secret is None:
            secret = generated = f"whsec_{secrets.token_urlsafe(32)}"
        endpoint = WebhookEndpoint(tenant_id=tenant_id, url=url, secret=secret, events=wanted, active=active)
    else:
        endpoint.events = wanted
        endpoint.active = active
        if secret is not None:
            endpoint.secret = secret
    session.add(endpoint)
    session.flush()
    changed = changes_between(before, _recorded(endpoint))
    if secret is not None and not created:
        changed["secret"] = ["…", "replaced"]
    if changed:
        action = "webhook added" if created else _change_words(changed)
        record_tenant_event(
            session, tenant_id, actor=actor, subject=_subject(endpoint), action=action,
            changes=changed, reason=reason,
        )  # fmt: skip
    invalidate_endpoint_cache()
    return endpoint, created, generated


def _subject(endpoint: WebhookEndpoint) -> str:
    """The endpoint as the history names it: by its URL as shown (an id means nothing to a person)."""
    shown = shown_url(endpoint.url)
    return f"webhook {shown if len(shown) <= 90 else shown[:89] + '…'}"


def _recorded(endpoint: WebhookEndpoint) -> dict[str, Any]:
    """What the history keeps of an endpoint: never its secret, and its URL as shown (no query)."""
    return {"url": shown_url(endpoint.url), "events": sorted(endpoint.events), "active": endpoint.active}


def _change_words(changed: dict[str, Any]) -> str:
    if set(changed) == {"active"}:
        return "webhook activated" if changed["active"][1] else "webhook deactivated"
    return "webhook changed"


def list_endpoints(session: Session, tenant_id: str | None) -> list[WebhookEndpoint]:
    query = select(WebhookEndpoint).order_by(col(WebhookEndpoint.created_at), col(WebhookEndpoint.id))
    if tenant_id is not None:
        query = query.where(col(WebhookEndpoint.tenant_id) == tenant_id)
    return list(session.execute(query).scalars())


def get_endpoint(session: Session, tenant_id: str, endpoint_id: str) -> WebhookEndpoint | None:
    """The tenant's endpoint with this id; another tenant's is no endpoint (None)."""
    endpoint = session.get(WebhookEndpoint, endpoint_id)
    return endpoint if endpoint is not None and endpoint.tenant_id == tenant_id else None


def delete_endpoint(session: Session, tenant_id: str, endpoint_id: str, *, actor: str) -> bool:
    """Remove an endpoint and its events (sent or not); False when the tenant has no such endpoint."""
    from gateway.services.tenancy.history import record_tenant_event

    endpoint = session.get(WebhookEndpoint, endpoint_id)
    if endpoint is None or endpoint.tenant_id != tenant_id:
        return False
    record_tenant_event(
        session, tenant_id, actor=actor, subject=_subject(endpoint), action="webhook removed",
        changes={"url": [shown_url(endpoint.url), None]},
    )  # fmt: skip
    session.execute(delete(_events).where(_events.c.endpoint_id == endpoint_id))
    session.delete(endpoint)
    session.flush()
    invalidate_endpoint_cache()
    return True


# --- sending -----------------------------------------------------------------------------------------------


def sign(secret: str, body: bytes, timestamp: int) -> str:
    """The `X-Gateway-Signature` header value for `body` sent at `timestamp`."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def verify(
    secret: str,
    body: bytes,
    header: str,
    *,
    now: float | None = None,
    tolerance: float = SIGNATURE_TOLERANCE_SECONDS,
) -> bool:
    """What the ERP does with `X-Gateway-Signature` (a reference implementation, used by the tests)."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs((now if now is not None else time.time()) - timestamp) > tolerance:
        return False
    expected = sign(secret, body, timestamp).split("v1=", 1)[1]
    return hmac.compare_digest(expected, parts.get("v1", ""))


@dataclass(frozen=True)
class WebhookClaim:
    id: int
    endpoint_id: str
    event_type: str
    payload: dict[str, Any]
    tries: int
    lease_token: str


@dataclass
class SendReport:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0


def claim_events(
    session: Session, *, limit: int = 50, lease_seconds: float = 60.0, now: dt.datetime | None = None
) -> list[WebhookClaim]:
    """Claim due pending events (or ones whose sender's lease expired) with a fresh lease token."""
    now = now or utcnow()
    c = _events.c
    claimed = claim_due(
        session,
        EVENT_LEASES,
        ready=(c.status == PENDING) & (c.next_attempt_at <= now),
        held=c.status == SENDING,
        order_by=[c.next_attempt_at, c.id],
        limit=limit,
        lease_seconds=lease_seconds,
        now=now,
        values={"status": SENDING},
        returning=[c.id, c.endpoint_id, c.event_type, c.payload, c.tries],
    )
    claims = [
        WebhookClaim(row.id, row.endpoint_id, row.event_type, row.payload, row.tries, claimed.token)
        for row in claimed.rows
    ]
    return sorted(claims, key=lambda c: c.id)


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after", "")
    return float(value) if value.isdigit() else None


def _certificate_problem(error: BaseException | None) -> str | None:
    """What was wrong with the receiver's TLS certificate ("Hostname mismatch, certificate is not valid for
    'erp.example.com'."), when that is why the connection failed; httpx wraps it twice."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        if isinstance(error, ssl.SSLCertVerificationError):
            return str(error.verify_message or error.reason or error)
        seen.add(id(error))
        error = error.__cause__ or error.__context__
    return None


def _outcome(
    response: httpx.Response | None, error: Exception | None
) -> tuple[str, str | None, float | None, bool]:
    """(status to record, error text, receiver's Retry-After, counts against REFUSED_MAX_TRIES)."""
    certificate = _certificate_problem(error)
    if certificate is not None:
        # the ERP's certificate (or a stranger's at its address): its side to fix, as a 4xx is
        return PENDING, f"TLS certificate refused: {certificate}", None, True
    if response is None:
        # a refused address is the endpoint's URL, as a 4xx is: retried a few times (DNS may change back)
        return PENDING, f"{type(error).__name__}: {error}", None, isinstance(error, RefusedConnection)
    code = response.status_code
    if 200 <= code < 300:
        return DELIVERED, None, None, False
    if 300 <= code < 400:
        location = response.headers.get("location", "")
        shown = shown_url(location) if "://" in location else location.split("?")[0][:200]
        to = f" to {shown}" if location else ""
        return PENDING, f"HTTP {code}: redirected{to}; redirects are not followed", None, True
    text = f"HTTP {code}: {response.text[:200]}".strip().rstrip(":")
    if code in (408, 429) or code >= 500:
        return PENDING, text, _retry_after(response), False
    return PENDING, text, None, True


def send_event(
    client: httpx.Client, claim: WebhookClaim, url: str, secret: str
) -> tuple[httpx.Response | None, Exception | None]:
    body = json.dumps(claim.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Gateway-Event": claim.event_type,
        "X-Gateway-Event-Id": str(claim.payload.get("id", claim.id)),
        "X-Gateway-Signature": sign(secret, body, int(time.time())),
        "User-Agent": "invoice-gateway-webhooks/1",
    }
    try:
        return client.post(url, content=body, headers=headers), None
    except httpx.HTTPError as error:
        return None, error


def send_due_events(
    engine: Engine,
    *,
    policy: RetryPolicy = DEFAULT_WEBHOOK_POLICY,
    timeout_seconds: float = 10.0,
    limit: int = 50,
    now: dt.datetime | None = None,
    client: httpx.Client | None = None,
    addresses: AddressPolicy = PUBLIC_ONLY,
    ca_bundle: Path | None = None,
) -> SendReport:
    """Claim the due events, POST each to its endpoint and record the outcome; one round.

    Each POST goes through a client pinned to addresses `addresses` allows (`net_policy.PinnedTransport`):
    the host is resolved and judged again at every send, and the connection made to the judged address.
    HTTPS certificates are checked against the URL's host name, trusting the default store plus
    `ca_bundle` (`webhook_ca_bundle`); a certificate that fails is a connection error, retried and recorded.
    """
    report = SendReport()
    now = now or utcnow()
    with session_scope(engine) as session:
        claims = claim_events(session, limit=limit, lease_seconds=timeout_seconds * 2 + 30, now=now)
        ids = {c.endpoint_id for c in claims}
        endpoints = {
            row.id: (row.url, row.secret)
            for row in session.execute(
                select(_endpoints.c.id, _endpoints.c.url, _endpoints.c.secret).where(
                    _endpoints.c.id.in_(sorted(ids))
                )
            )
        }
    report.claimed = len(claims)
    if not claims:
        return report
    owned = client is None
    http = client or pinned_client(addresses, timeout=timeout_seconds, ca_bundle=ca_bundle)
    try:
        for claim in claims:
            url, secret = endpoints[claim.endpoint_id]
            response, error = send_event(http, claim, url, secret)
            status, text, after, refused = _outcome(response, error)
            tries = claim.tries + 1
            values: dict[str, Any] = {"tries": tries}
            if status == DELIVERED:
                values.update(status=DELIVERED, delivered_at=utcnow(), last_error=None)
                report.delivered += 1
            elif policy.gives_up_after(tries) or (refused and tries >= REFUSED_MAX_TRIES):
                values.update(status=FAILED, last_error=f"gave up after {tries} tries; last: {text}")
                report.failed += 1
            else:
                delay = after if after is not None else policy.delay_after(tries)
                values.update(
                    status=PENDING, last_error=text, next_attempt_at=now + dt.timedelta(seconds=delay)
                )
                report.retried += 1
            # the token must still be ours, but an expired lease no one took over may still record what
            # the ERP answered (else the event would be sent again); a taken-over one is left alone
            with contextlib.suppress(LeaseLost), session_scope(engine) as session:
                write_under_lease(
                    session, EVENT_LEASES, claim.id, claim.lease_token, now=now, values=values, live=False
                )
    finally:
        if owned:
            http.close()
    return report


def event_rows(session: Session, tenant_id: str | None = None) -> list[WebhookEvent]:
    query = select(WebhookEvent).order_by(col(WebhookEvent.id))
    if tenant_id is not None:
        query = query.where(col(WebhookEvent.tenant_id) == tenant_id)
    return list(session.execute(query).scalars())


# --- how the endpoints are doing (the console's webhook pages, `gateway webhook list`) ---------------------


def shown_url(url: str) -> str:
    """Scheme, host, port and path only: a URL's user, password, query and fragment may carry a token, and
    a page is read over shoulders."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    hidden = " …" if parts.query or parts.fragment or parts.username or parts.password else ""
    return f"{parts.scheme}://{host}{port}{parts.path}{hidden}"


def event_counts(session: Session, endpoint_ids: Sequence[str]) -> dict[str, dict[str, int]]:
    """Per endpoint: its events by status (pending, sending, delivered, failed); one query."""
    counts: dict[str, dict[str, int]] = {endpoint_id: {} for endpoint_id in endpoint_ids}
    if not counts:
        return counts
    rows = session.execute(
        select(_events.c.endpoint_id, _events.c.status, func.count())
        .where(_events.c.endpoint_id.in_(list(counts)))
        .group_by(_events.c.endpoint_id, _events.c.status)
    )
    for endpoint_id, status, count in rows:
        counts[endpoint_id][status] = count
    return counts


@dataclass
class EndpointHealth:
    """One endpoint and how its events are doing: the backlog (pending or being sent), the oldest waiting
    event, the last success, and the most recent event that carries an error (with its tries)."""

    endpoint: WebhookEndpoint
    counts: dict[str, int] = field(default_factory=dict)
    oldest_pending_at: dt.datetime | None = None
    last_delivered_at: dt.datetime | None = None
    last_error: str | None = None
    last_error_event_at: dt.datetime | None = None
    last_error_tries: int = 0
    last_error_status: str | None = None

    @property
    def backlog(self) -> int:
        return self.counts.get(PENDING, 0) + self.counts.get(SENDING, 0)

    @property
    def failed(self) -> int:
        return self.counts.get(FAILED, 0)

    @property
    def delivered(self) -> int:
        return self.counts.get(DELIVERED, 0)


def endpoint_health(session: Session, tenant_id: str) -> list[EndpointHealth]:
    """The tenant's endpoints (oldest first), each with its backlog, last success and last error."""
    endpoints = list_endpoints(session, tenant_id)
    ids = [endpoint.id for endpoint in endpoints]
    counts = event_counts(session, ids)
    health = {e.id: EndpointHealth(e, counts.get(e.id, {})) for e in endpoints}
    if not ids:
        return []
    c = _events.c
    times = session.execute(
        select(
            c.endpoint_id,
            func.min(c.created_at).filter(c.status.in_([PENDING, SENDING])),
            func.max(c.delivered_at),
        )
        .where(c.endpoint_id.in_(ids))
        .group_by(c.endpoint_id)
    )
    for endpoint_id, oldest, delivered in times:
        health[endpoint_id].oldest_pending_at = _utc(oldest)
        health[endpoint_id].last_delivered_at = _utc(delivered)
    latest_error = (
        select(c.endpoint_id, func.max(c.id).label("event_id"))
        .where(c.endpoint_id.in_(ids), c.last_error.is_not(None))
        .group_by(c.endpoint_id)
        .subquery()
    )
    errors = session.execute(
        select(c.endpoint_id, c.last_error, c.created_at, c.tries, c.status).join(
            latest_error, c.id == latest_error.c.event_id
        )
    )
    for endpoint_id, text, created_at, tries, status in errors:
        found = health[endpoint_id]
        found.last_error, found.last_error_event_at = text, _utc(created_at)
        found.last_error_tries, found.last_error_status = tries, status
    return list(health.values())


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.replace(tzinfo=dt.UTC) if value is not None and value.tzinfo is None else value


def failed_events(
    session: Session, tenant_id: str, endpoint_id: str, *, limit: int = 50
) -> list[WebhookEvent]:
    """The endpoint's events that failed or are being retried after an error, newest first."""
    return list(
        session.execute(
            select(WebhookEvent)
            .where(
                col(WebhookEvent.tenant_id) == tenant_id,
                col(WebhookEvent.endpoint_id) == endpoint_id,
                (col(WebhookEvent.status) == FAILED) | col(WebhookEvent.last_error).is_not(None),
            )
            .order_by(col(WebhookEvent.id).desc())
            .limit(limit)
        ).scalars()
    )


def webhook_policy(settings: Settings) -> RetryPolicy:
    """The retry policy from the settings (`webhook_retry_base_seconds`, `webhook_max_tries`)."""
    return RetryPolicy(
        base_seconds=settings.webhook_retry_base_seconds,
        factor=2.0,
        max_delay_seconds=3600.0,
        max_tries=settings.webhook_max_tries,
    )
