"""What the invoice search keeps besides the invoices themselves."""

from __future__ import annotations

from sqlmodel import Field, SQLModel


class BuyerName(SQLModel, table=True):
    """One folded buyer name a tenant has invoiced (`InvoiceRecord.buyer_search`), once.

    A name is searched by substring, which no ordinary index serves; a tenant has far fewer buyers than
    invoices, so the search tests these few rows and then finds the invoices of the names that matched
    through `ix_invoices_search_buyer`. Written by the intake; a name stays when its invoices go.
    """

    __tablename__ = "invoice_buyer_names"

    tenant_id: str = Field(foreign_key="tenants.id", primary_key=True, max_length=64)
    name_search: str = Field(primary_key=True, max_length=200)
