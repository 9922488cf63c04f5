"""What a service refuses, naming the field and the reason: the API answers 4xx with both, the CLI too.

One base, so every refusal reads and serialises alike (`str()` is "field: reason", `as_dict()` the API's error
entry); each service names its own subclass for what it refuses.
"""

from __future__ import annotations


class Refused(ValueError):
    """A request a service will not carry out; `field` names what to change, `reason` why."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}
