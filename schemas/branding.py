"""A tenant's branding for rendered documents (the PDF invoice): part of its settings, read by mappings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Language = Literal["nb", "en"]


class PdfTemplate(BaseModel):
    """A tenant's look: name, logo, accent colour, contact and footer lines, payment extras, language."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    company_display_name: str | None = Field(None, max_length=200, description="default: the seller's name")
    logo_path: Path | None = Field(None, description="PNG or JPEG, drawn top left (max 60 × 20 mm)")
    accent_color: str = Field("#1F4E79", pattern=r"^#[0-9A-Fa-f]{6}$")
    contact_lines: list[str] = Field(default_factory=list, max_length=6)
    footer_text: str | None = Field(None, max_length=300)
    payment_link_url: str | None = Field(
        None, max_length=500, description="printed as a QR code; {number} and {kid} are filled in"
    )
    show_payment_slip: bool = True
    language: Language = "nb"
