"""The claim's indexes hold only claimable deliveries: partial indexes on due and on held rows (issue 23)

`ix_deliveries_claim (status, next_attempt_at)` and `ix_deliveries_lease (status, lease_expires_at)` had
an entry for every delivery ever made, and every status change added one to each. The partial
`ix_deliveries_due (next_attempt_at) WHERE status = 'queued'` and `ix_deliveries_leased
(lease_expires_at) WHERE status IN ('rendering', 'sending')` hold only the rows a claim can take: a
delivery that finishes leaves them and adds nothing, so among a million finished deliveries they stay a
few pages (benchmarks/claim.py). The claim spells those statuses as literals, so both planners can prove
the predicates, and reads each index in order as far as its limit. No other query needed the old two:
the other status filters name the tenant and use `ix_deliveries_search_status` /
`ix_deliveries_status_created`, or are served by the partial ones (a bounce that names no tenant names
every tenant).

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07 18:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None

#: Frozen here (a migration does not follow later changes to the model's constants).
DUE = "status = 'queued'"
LEASED = "status IN ('rendering', 'sending')"


def upgrade() -> None:
    op.create_index(
        "ix_deliveries_due",
        "deliveries",
        ["next_attempt_at"],
        unique=False,
        sqlite_where=sa.text(DUE),
        postgresql_where=sa.text(DUE),
    )
    op.create_index(
        "ix_deliveries_leased",
        "deliveries",
        ["lease_expires_at"],
        unique=False,
        sqlite_where=sa.text(LEASED),
        postgresql_where=sa.text(LEASED),
    )
    op.drop_index("ix_deliveries_claim", table_name="deliveries")
    op.drop_index("ix_deliveries_lease", table_name="deliveries")


def downgrade() -> None:
    op.create_index("ix_deliveries_lease", "deliveries", ["status", "lease_expires_at"], unique=False)
    op.create_index("ix_deliveries_claim", "deliveries", ["status", "next_attempt_at"], unique=False)
    op.drop_index("ix_deliveries_leased", table_name="deliveries")
    op.drop_index("ix_deliveries_due", table_name="deliveries")
