"""retention of exactly-once records: purge by age; settlements unique per institution msgid

Revision ID: 0006
Revises: 0005

`gongji idempotency purge` deletes idempotency rows older than the retention period by
created_at: the index makes each batch a range scan. Once a settlement's record is gone,
a retry of the same msgid would be evaluated again; the unique (institution_id, msgid)
index on settlements then refuses a second settlement. The idempotency key is
(fixmedins_code, msgid) and records were never removed before this revision, so no
existing database holds two settlements of one institution's msgid.
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_idempotency_created_at", "idempotency", ["created_at"])
    op.create_index("uq_settlements_institution_msgid", "settlements",
                    ["institution_id", "msgid"], unique=True)


def downgrade() -> None:
    op.drop_index("uq_settlements_institution_msgid", table_name="settlements")
    op.drop_index("ix_idempotency_created_at", table_name="idempotency")
