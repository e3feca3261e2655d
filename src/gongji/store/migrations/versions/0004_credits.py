"""credits: one row per credit reference (exactly-once for REST and bulk import, reversal)

Revision ID: 0004
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "credits",
        sa.Column("ref", sa.String(length=64), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("account_id", sa.BigInteger(), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("source_account_id", sa.BigInteger(), nullable=False),
        sa.Column("txn_id", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("reversed_at", sa.DateTime(), nullable=True),
        sa.Column("reversal_txn_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_credits_positive")),
        sa.CheckConstraint("(reversed_at IS NULL) = (reversal_txn_id IS NULL)",
                           name=op.f("ck_credits_reversal_pair")),
        sa.PrimaryKeyConstraint("ref", name=op.f("pk_credits")),
    )
    if op.get_bind().dialect.name == "postgresql":
        # Every personal balance is rewritten each month (and at each settlement): room on
        # the page lets PostgreSQL update in place (HOT) without touching the indexes.
        op.execute("ALTER TABLE accounts SET (fillfactor = 50)")
    # Credits made before this table existed: their journal transactions name them.
    op.execute(
        "INSERT INTO credits (ref, person_id, account_id, amount_fen, source_account_id,"
        " txn_id, created_at)"
        " SELECT t.ref, a.person_id, p.account_id, p.amount_fen, q.account_id, t.id,"
        " t.created_at"
        " FROM journal_txns t JOIN postings p ON p.txn_id = t.id"
        " JOIN accounts a ON a.id = p.account_id AND a.kind = 'personal'"
        " JOIN postings q ON q.txn_id = t.id AND q.amount_fen < 0"
        " WHERE t.kind = 'credit' AND t.ref IS NOT NULL"
    )


def downgrade() -> None:
    op.drop_table("credits")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE accounts RESET (fillfactor)")
