"""the helper's quota (共济额度) on a binding

Revision ID: 0012
Revises: 0011

Two nullable columns on bindings: quota_fen (what the helper set) and quota_remaining_fen
(what is left of it); both NULL where no quota was ever set, which is every existing row.
SQLite cannot add a CHECK constraint in place: the batch rebuilds the table (its partial
unique index is recreated from the model's own definition below, WHERE and all).
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

_PAIR = "(quota_fen IS NULL) = (quota_remaining_fen IS NULL)"
_WITHIN = "quota_fen IS NULL OR (quota_remaining_fen >= 0 AND quota_remaining_fen <= quota_fen)"
_ACTIVE = "status = 'active'"


def upgrade() -> None:
    with op.batch_alter_table("bindings") as batch:
        batch.add_column(sa.Column("quota_fen", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("quota_remaining_fen", sa.BigInteger(), nullable=True))
        batch.create_check_constraint(op.f("ck_bindings_quota_pair"), _PAIR)
        batch.create_check_constraint(op.f("ck_bindings_quota_within"), _WITHIN)
    _keep_partial_index()


def downgrade() -> None:
    with op.batch_alter_table("bindings") as batch:
        batch.drop_constraint(op.f("ck_bindings_quota_within"), type_="check")
        batch.drop_constraint(op.f("ck_bindings_quota_pair"), type_="check")
        batch.drop_column("quota_remaining_fen")
        batch.drop_column("quota_fen")
    _keep_partial_index()


def _keep_partial_index() -> None:
    """One active binding per pair: on SQLite the rebuilt table's copy of this index may
    have lost its WHERE (reflection of partial indexes varies), so it is made again."""
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("DROP INDEX IF EXISTS uq_bindings_active_pair")
    op.create_index("uq_bindings_active_pair", "bindings", ["helper_id", "beneficiary_id"],
                    unique=True, sqlite_where=sa.text(_ACTIVE))
