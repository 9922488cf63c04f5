"""The tenant's settings as a page: what each one means (read-only for everyone), and an admin's form.

The form covers what a person changes from day to day — hold for review, the sending window, the print
profile and the payment-matching policy; the PDF branding and the KID agreement are kept as stored (they
are set through `PUT /settings`). What a form sends is turned into a `TenantSettings` and validated by the
model itself, so the console accepts exactly what the API accepts; each error is put beside its field.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from schemas.matching import MatchingPolicy
from schemas.tenant import TenantSettings

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


#: Where the model's description reads as a continuation of another field's or speaks of `false`.
_REWORDED = {
    "write_off_percent": "A write-off also stays within this percentage of the applied amount.",
    "book_advices": "REMADV / X12 820 advices are booked as payments (the partner's advice is the record). "
    "Turn off when the same money also arrives in a bank file: advices are then kept as hints only.",
}


def _description(model: type[BaseModel], name: str) -> str:
    """The model's own description of a field, as a sentence (its first letter raised, a full stop)."""
    if model is MatchingPolicy and name in _REWORDED:
        return _REWORDED[name]
    text = (model.model_fields[name].description or "").strip().lstrip("…")
    # what None means is said by the value shown ("all channels", "never"), not in Python's words
    text = re.sub(r"\s*(;\s*None\s*=.*$|\(None:[^)]*\))", "", text)
    return f"{text[:1].upper()}{text[1:]}." if text else ""


@dataclass(frozen=True)
class SettingLine:
    """One line of the read-only definition list: a label, the value in words, and what it means."""

    label: str
    value: str
    description: str


def _channels(value: Sequence[str] | None) -> str:
    return "all channels" if value is None else (", ".join(value) or "no channel")


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _time(value: dt.time) -> str:
    return value.strftime("%H:%M")


def setting_lines(settings: TenantSettings) -> list[tuple[str, list[SettingLine]]]:
    """The settings in groups of lines, each value said in words (no JSON)."""
    window = settings.send_window
    matching = settings.matching
    kid = settings.kid
    pdf = settings.pdf_template

    def m(name: str, words: Callable[[Any], str] = str) -> SettingLine:
        label = name.replace("_", " ").capitalize()
        return SettingLine(label, words(getattr(matching, name)), _description(MatchingPolicy, name))

    return [
        (
            "Sending",
            [
                SettingLine(
                    "Hold for review",
                    _yes(settings.hold_for_review),
                    "New deliveries wait as 'held' until a person releases them.",
                ),
                SettingLine(
                    "Held channels",
                    _channels(settings.hold_channels),
                    _description(TenantSettings, "hold_channels"),
                ),
                SettingLine(
                    "Sending window",
                    (
                        f"{_time(window.start)}–{_time(window.end)} {window.timezone}, "
                        + ", ".join(WEEKDAYS[d] for d in sorted(window.weekdays))
                    )
                    if window
                    else "none: deliveries leave as soon as they are ready",
                    "Deliveries wait until the window opens (local time, on the given weekdays).",
                ),
                SettingLine(
                    "Window channels",
                    _channels(settings.window_channels),
                    _description(TenantSettings, "window_channels"),
                ),
                SettingLine(
                    "Print profile",
                    settings.print_profile or "default",
                    _description(TenantSettings, "print_profile"),
                ),
            ],
        ),
        (
            "Payment matching",
            [
                m("auto_threshold", lambda v: f"{v:.0%}"),
                m("margin", lambda v: f"{v:.0%}"),
                m("write_off_limit"),
                m("write_off_percent", lambda v: f"{v} %"),
                m("approval_above", lambda v: "never" if v is None else str(v)),
                m("deductions_need_approval", _yes),
                m("subset_max_items"),
                m("due_date_window_days", lambda v: f"{v} days"),
                m("suggestions"),
                m("book_advices", _yes),
            ],
        ),
        (
            "Documents and references",
            [
                SettingLine(
                    "KID agreement",
                    f"{kid.algorithm.upper()}, {kid.length} digits"
                    + (f", prefix {kid.prefix}" if kid.prefix else "")
                    + (", generated when missing" if kid.generate else "")
                    if kid
                    else "none",
                    _description(TenantSettings, "kid"),
                ),
                SettingLine(
                    "PDF branding",
                    f"{pdf.company_display_name or 'the seller’s name'}, accent {pdf.accent_color}, "
                    f"language {pdf.language}"
                    if pdf
                    else "the gateway's standard look",
                    _description(TenantSettings, "pdf_template"),
                ),
            ],
        ),
    ]


# --- the admin's form --------------------------------------------------------------------------------------

#: Matching fields on the form, and whether each is a tick box.
MATCHING_FIELDS: tuple[tuple[str, bool], ...] = (
    ("auto_threshold", False),
    ("margin", False),
    ("write_off_limit", False),
    ("write_off_percent", False),
    ("approval_above", False),
    ("deductions_need_approval", True),
    ("subset_max_items", False),
    ("due_date_window_days", False),
    ("suggestions", False),
    ("book_advices", True),
)


def form_values(settings: TenantSettings) -> dict[str, Any]:
    """The form's fields filled from stored settings (what the edit form shows first)."""
    window = settings.send_window
    values: dict[str, Any] = {
        "hold_for_review": settings.hold_for_review,
        "hold_channels": ", ".join(settings.hold_channels or []),
        "window_enabled": window is not None,
        "window_start": _time(window.start) if window else "08:00",
        "window_end": _time(window.end) if window else "16:00",
        "window_timezone": window.timezone if window else "Europe/Oslo",
        "window_weekdays": [str(d) for d in (window.weekdays if window else [0, 1, 2, 3, 4])],
        "window_channels": ", ".join(settings.window_channels or []),
        "print_profile": settings.print_profile or "",
    }
    for name, _tick in MATCHING_FIELDS:
        value = getattr(settings.matching, name)
        values[f"matching_{name}"] = (
            value if isinstance(value, bool) else ("" if value is None else str(value))
        )
    return values


def _channel_list(text: str) -> list[str] | None:
    names = [name.strip() for name in text.split(",") if name.strip()]
    return names or None


class SettingsFormError(ValueError):
    """The form does not make valid settings: `errors` maps each form field to what is wrong with it."""

    def __init__(self, errors: Mapping[str, str], values: Mapping[str, Any]) -> None:
        super().__init__("; ".join(f"{field}: {text}" for field, text in errors.items()))
        self.errors = dict(errors)
        self.values = dict(values)


def _field_of(location: tuple[int | str, ...]) -> str:
    """The form field a validation error's location belongs to."""
    head = str(location[0]) if location else "form"
    if head == "send_window":
        return f"window_{location[1]}" if len(location) > 1 else "window_enabled"
    if head == "matching":
        return f"matching_{location[1]}" if len(location) > 1 else "matching_auto_threshold"
    return head


def parse_form(form: Mapping[str, Any], weekdays: Sequence[str], stored: TenantSettings) -> TenantSettings:
    """The settings this form describes (`weekdays`: the ticked ones); `SettingsFormError` naming each bad
    field. The KID agreement and PDF branding are kept from `stored`."""

    def text(name: str) -> str:
        value = form.get(name, "")
        return value.strip() if isinstance(value, str) else ""

    values: dict[str, Any] = {
        "hold_for_review": bool(text("hold_for_review")),
        "hold_channels": text("hold_channels"),
        "window_enabled": bool(text("window_enabled")),
        "window_start": text("window_start"),
        "window_end": text("window_end"),
        "window_timezone": text("window_timezone"),
        "window_weekdays": list(weekdays),
        "window_channels": text("window_channels"),
        "print_profile": text("print_profile"),
    }
    matching: dict[str, Any] = {}
    for name, tick in MATCHING_FIELDS:
        key = f"matching_{name}"
        values[key] = bool(text(key)) if tick else text(key)
        # an empty optional figure (approval_above) means None; an empty required one is the model's to refuse
        optional_and_empty = values[key] == "" and MatchingPolicy.model_fields[name].default is None
        matching[name] = None if optional_and_empty else values[key]
    data: dict[str, Any] = {
        "hold_for_review": values["hold_for_review"],
        "hold_channels": _channel_list(values["hold_channels"]),
        "window_channels": _channel_list(values["window_channels"]),
        "print_profile": values["print_profile"] or None,
        "matching": matching,
        "kid": stored.kid.model_dump(mode="json") if stored.kid else None,
        "pdf_template": stored.pdf_template.model_dump(mode="json") if stored.pdf_template else None,
        "consumer_waterfall": list(stored.consumer_waterfall),  # set by the API or CLI, not on this form
    }
    if values["window_enabled"]:
        data["send_window"] = {
            "start": values["window_start"],
            "end": values["window_end"],
            "timezone": values["window_timezone"],
            "weekdays": values["window_weekdays"],
        }
    try:
        return TenantSettings.model_validate(data)
    except ValidationError as error:
        errors: dict[str, str] = {}
        for problem in error.errors(include_url=False, include_input=False):
            field = _field_of(tuple(problem["loc"]))
            message = str(problem["msg"]).removeprefix("Value error, ")
            errors.setdefault(field, message[:1].upper() + message[1:] + ".")
        raise SettingsFormError(errors, values) from None


#: Every form field's label (the form's `<label>`s and the list of fields an error names).
FIELD_LABELS = {
    "hold_for_review": "Hold new deliveries for review",
    "hold_channels": "Held channels",
    "print_profile": "Print profile",
    "window_enabled": "Send only inside a window",
    "window_start": "Opens",
    "window_end": "Closes",
    "window_timezone": "Time zone",
    "window_weekdays": "Weekdays",
    "window_channels": "Window channels",
    **{f"matching_{name}": name.replace("_", " ").capitalize() for name, _tick in MATCHING_FIELDS},
}


def descriptions() -> dict[str, str]:
    """What each form field means (the model's own descriptions, plus a few in words)."""
    found = {
        "hold_for_review": "New deliveries wait as 'held' until a person releases them.",
        "hold_channels": "Channels held for review, separated by commas; empty = all.",
        "window_enabled": "Deliveries leave only inside the window (local time, on the ticked weekdays).",
        "window_channels": "Channels the window applies to, separated by commas; empty = all.",
        "print_profile": "The print channel's profile for this tenant's paper invoices; empty = 'default'.",
        "window_timezone": "An IANA time zone, e.g. Europe/Oslo.",
    }
    for name, _tick in MATCHING_FIELDS:
        found[f"matching_{name}"] = _description(MatchingPolicy, name)
    found["matching_approval_above"] = (
        "Payments larger than this always wait for a person's approval; empty = never."
    )
    found["matching_auto_threshold"] = "From 0 to 1. " + found["matching_auto_threshold"]
    found["matching_margin"] = "From 0 to 1. " + found["matching_margin"]
    return found
