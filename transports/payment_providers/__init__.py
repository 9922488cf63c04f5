"""Payment providers' HTTP APIs (Stripe, Vipps MobilePay): the wire protocols only, no database."""
