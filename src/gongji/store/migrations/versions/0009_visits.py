"""visits (就诊), fee lines (费用明细) and the settlement's visit and batch

Revision ID: 0009
Revises: 0008

A hospital registers a visit (2201, mdtrt_id issued here), uploads fee lines (2204) and
settles a batch (chrg_bchno) of them (2207): the settlement keeps mdtrt_id, chrg_bchno and
med_type (NULL for a v1 bill). A visit line's settlement_id is set while a live settlement
holds it. A pharmacy's v2 lines (2102) are fee lines with their settlement and no visit.
cnt and pric are exact integers (× 10,000 and micro-yuan): SQLite keeps NUMERIC as a float.
Adding nullable columns needs no table rebuild on SQLite (batch mode adds them in place).
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    _visits()
    _fee_lines()
    with op.batch_alter_table("settlements") as table:
        table.add_column(sa.Column("mdtrt_id", sa.String(length=30), nullable=True))
        table.add_column(sa.Column("chrg_bchno", sa.String(length=30), nullable=True))
        table.add_column(sa.Column("med_type", sa.String(length=6), nullable=True))
        table.create_index("ix_settlements_mdtrt_id", ["mdtrt_id"], unique=False)


def _visits() -> None:
    op.create_table(
        "visits",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("mdtrt_id", sa.String(length=30), nullable=False),
        sa.Column("msgid", sa.String(length=64), nullable=False),
        sa.Column("institution_id", sa.BigInteger(), nullable=False),
        sa.Column("person_id", sa.BigInteger(), nullable=False),
        sa.Column("psn_no", sa.String(length=30), nullable=False),
        sa.Column("insutype", sa.String(length=3), nullable=False),
        sa.Column("med_type", sa.String(length=6), server_default="11", nullable=False),
        sa.Column("begntime", sa.DateTime(), nullable=False),
        sa.Column("ipt_otp_no", sa.String(length=30), nullable=False),
        sa.Column("atddr_no", sa.String(length=30), nullable=True),
        sa.Column("dr_name", sa.String(length=50), nullable=True),
        sa.Column("dept_code", sa.String(length=30), nullable=True),
        sa.Column("dept_name", sa.String(length=100), nullable=True),
        sa.Column("caty", sa.String(length=10), nullable=True),
        sa.Column("diseinfo", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("cancelled_at", sa.DateTime(), nullable=True),
        sa.CheckConstraint("status IN ('registered', 'cancelled')",
                           name=op.f("ck_visits_status")),
        sa.CheckConstraint("(status = 'cancelled') = (cancelled_at IS NOT NULL)",
                           name=op.f("ck_visits_cancelled_when")),
        sa.ForeignKeyConstraint(["institution_id"], ["institutions.id"],
                                name=op.f("fk_visits_institution_id_institutions")),
        sa.ForeignKeyConstraint(["person_id"], ["persons.id"],
                                name=op.f("fk_visits_person_id_persons")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visits")),
        sa.UniqueConstraint("mdtrt_id", name=op.f("uq_visits_mdtrt_id")),
    )
    op.create_index("ix_visits_institution_person", "visits", ["institution_id", "person_id"])
    op.create_index("uq_visits_institution_msgid", "visits", ["institution_id", "msgid"],
                    unique=True)


def _fee_lines() -> None:
    op.create_table(
        "fee_lines",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("visit_id", sa.BigInteger(), nullable=True),
        sa.Column("settlement_id", sa.BigInteger(), nullable=True),
        sa.Column("feedetl_sn", sa.String(length=30), nullable=False),
        sa.Column("chrg_bchno", sa.String(length=30), nullable=True),
        sa.Column("med_list_codg", sa.String(length=50), nullable=False),
        sa.Column("medins_list_codg", sa.String(length=50), nullable=True),
        sa.Column("cnt_e4", sa.BigInteger(), nullable=False),
        sa.Column("pric_uyuan", sa.BigInteger(), nullable=False),
        sa.Column("det_item_fee_sumamt_fen", sa.BigInteger(), nullable=False),
        sa.Column("fulamt_ownpay_amt_fen", sa.BigInteger(), nullable=False),
        sa.Column("overlmt_amt_fen", sa.BigInteger(), nullable=False),
        sa.Column("preselfpay_amt_fen", sa.BigInteger(), nullable=False),
        sa.Column("inscp_scp_amt_fen", sa.BigInteger(), nullable=False),
        sa.Column("chrgitm_lv", sa.String(length=2), nullable=False),
        sa.Column("selfpay_prop_ppm", sa.Integer(), nullable=False),
        sa.Column("pric_uplmt_uyuan", sa.BigInteger(), nullable=True),
        sa.Column("fee_ocur_time", sa.DateTime(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("visit_id IS NOT NULL OR settlement_id IS NOT NULL",
                           name=op.f("ck_fee_lines_owner")),
        sa.CheckConstraint("visit_id IS NULL OR chrg_bchno IS NOT NULL",
                           name=op.f("ck_fee_lines_visit_batch")),
        sa.CheckConstraint("det_item_fee_sumamt_fen = fulamt_ownpay_amt_fen + overlmt_amt_fen"
                           " + preselfpay_amt_fen + inscp_scp_amt_fen",
                           name=op.f("ck_fee_lines_parts_add_up")),
        sa.CheckConstraint("cnt_e4 > 0 AND pric_uyuan >= 0 AND fulamt_ownpay_amt_fen >= 0"
                           " AND overlmt_amt_fen >= 0 AND preselfpay_amt_fen >= 0"
                           " AND inscp_scp_amt_fen >= 0", name=op.f("ck_fee_lines_not_negative")),
        sa.CheckConstraint("chrgitm_lv IN ('01', '02', '03')",
                           name=op.f("ck_fee_lines_chrgitm_lv")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"],
                                name=op.f("fk_fee_lines_visit_id_visits")),
        sa.ForeignKeyConstraint(["settlement_id"], ["settlements.id"],
                                name=op.f("fk_fee_lines_settlement_id_settlements")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fee_lines")),
        sa.UniqueConstraint("visit_id", "feedetl_sn", name=op.f("uq_fee_lines_visit_id")),
    )
    op.create_index("ix_fee_lines_visit_batch", "fee_lines", ["visit_id", "chrg_bchno"])
    op.create_index("ix_fee_lines_settlement", "fee_lines", ["settlement_id"])


def downgrade() -> None:
    with op.batch_alter_table("settlements") as table:
        table.drop_index("ix_settlements_mdtrt_id")
        table.drop_column("med_type")
        table.drop_column("chrg_bchno")
        table.drop_column("mdtrt_id")
    op.drop_index("ix_fee_lines_settlement", table_name="fee_lines")
    op.drop_index("ix_fee_lines_visit_batch", table_name="fee_lines")
    op.drop_table("fee_lines")
    op.drop_index("uq_visits_institution_msgid", table_name="visits")
    op.drop_index("ix_visits_institution_person", table_name="visits")
    op.drop_table("visits")
