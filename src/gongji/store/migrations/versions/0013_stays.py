"""inpatient stays (住院): visits.kind and the stays table

Revision ID: 0013
Revises: 0012

A stay is a visit of kind 'inpatient' (every existing visit is 'outpatient'); `stays` keeps
what only a stay has: its stored state (admitted, discharged, cancelled; settled is derived
from a live settlement of its mdtrt_id) and its discharge. The column is added in place on
both databases (SQLite's ADD COLUMN takes a NOT NULL with a default and a CHECK), so the
visits table, which fee lines reference, is never rebuilt.
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_KIND = "kind IN ('outpatient', 'inpatient')"


def upgrade() -> None:
    op.execute("ALTER TABLE visits ADD COLUMN kind VARCHAR(10) DEFAULT 'outpatient' NOT NULL "
               f"CONSTRAINT ck_visits_kind CHECK ({_KIND})")
    op.create_table(
        "stays",
        sa.Column("visit_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("endtime", sa.DateTime(), nullable=True),
        sa.Column("dscg_way", sa.String(length=6), nullable=True),
        sa.Column("dscginfo", sa.Text(), nullable=True),
        sa.Column("dscg_diseinfo", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("status IN ('admitted', 'discharged', 'cancelled')",
                           name=op.f("ck_stays_status")),
        sa.CheckConstraint("(status = 'discharged') = (endtime IS NOT NULL)",
                           name=op.f("ck_stays_discharged_when")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"],
                                name=op.f("fk_stays_visit_id_visits")),
        sa.PrimaryKeyConstraint("visit_id", name=op.f("pk_stays")),
    )


def downgrade() -> None:
    op.drop_table("stays")
    with op.batch_alter_table("visits") as batch:
        batch.drop_constraint(op.f("ck_visits_kind"), type_="check")
        batch.drop_column("kind")
