"""A seller's payment provider settings as the providers file holds them (test values, no real keys)."""

from __future__ import annotations

from typing import Any

STRIPE: dict[str, Any] = {"secret_key": "sk_test_portal", "webhook_secret": "whsec_portal"}
VIPPS: dict[str, Any] = {
    "client_id": "client-id",
    "client_secret": "client-secret",
    "subscription_key": "subscription-key",
    "merchant_serial_number": "123456",
    "webhook_secret": "vipps-webhook-secret",
}
