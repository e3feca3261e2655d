"""the idempotency record keeps no status: a route answers with its own status code

Revision ID: 0007
Revises: 0006

A claim and its answer commit together, so an unanswered claim is never visible; the
stored status (0 while claimed, 200 after) was never read. SQLite rebuilds the table
(batch mode); PostgreSQL drops the column.
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("idempotency") as table:
        table.drop_column("status_code")


def downgrade() -> None:
    with op.batch_alter_table("idempotency") as table:
        table.add_column(sa.Column("status_code", sa.Integer(), nullable=False,
                                   server_default="200"))
