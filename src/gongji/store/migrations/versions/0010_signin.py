"""sign-ins (签到) and msgids spent by 2601 冲正

Revision ID: 0010
Revises: 0009

sign_ins: one row per 9001, ended by 9002 (signed_out_at with the 9002's msgid) or by the
end of its Asia/Shanghai day (sign_date). spent_msgids: the msgids a 2601 named when nothing
had settled with them; unlike idempotency records they are never purged.
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "sign_ins",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("sign_no", sa.String(length=30), nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("opter_no", sa.String(length=30), nullable=False),
        sa.Column("mac", sa.String(length=64), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=False),
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("signed_in_at", sa.DateTime(), nullable=False),
        sa.Column("sign_date", sa.Date(), nullable=False),
        sa.Column("signed_out_at", sa.DateTime(), nullable=True),
        sa.Column("signout_msgid", sa.String(length=64), nullable=True),
        sa.CheckConstraint("(signed_out_at IS NULL) = (signout_msgid IS NULL)",
                           name=op.f("ck_sign_ins_signout_pair")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_sign_ins_institution_id_institutions")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sign_ins")),
        sa.UniqueConstraint("sign_no", name=op.f("uq_sign_ins_sign_no")),
    )
    op.create_index("ix_sign_ins_institution_date", "sign_ins", ["institution_id", "sign_date"])
    op.create_table(
        "spent_msgids",
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("oinfno", sa.String(length=4), nullable=False),
        sa.Column("by_msgid", sa.String(length=64), nullable=False),
        sa.Column("spent_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_spent_msgids_institution_id_institutions")),
        sa.PrimaryKeyConstraint("institution_id", "msgid", name=op.f("pk_spent_msgids")),
    )


def downgrade() -> None:
    op.drop_table("spent_msgids")
    op.drop_index("ix_sign_ins_institution_date", table_name="sign_ins")
    op.drop_table("sign_ins")
