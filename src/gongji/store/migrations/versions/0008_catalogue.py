"""the catalogue (医保目录): items per province with regional overrides

Revision ID: 0008
Revises: 0007

One row per (admdvs, med_list_codg). A province's row (540000, 450000) applies to every
region of it; a region's row overrides it. 先行自付比例 and 最高限价 are integers in
millionths (selfpay_prop_ppm, pric_uplmt_uyuan): exact on SQLite, where NUMERIC would be
a float, and on PostgreSQL alike. The unique constraint is also the lookup's index.
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_items",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  autoincrement=True, nullable=False),
        sa.Column("admdvs", sa.String(length=6), nullable=False),
        sa.Column("med_list_codg", sa.String(length=50), nullable=False),
        sa.Column("med_list_name", sa.String(length=200), nullable=False),
        sa.Column("chrgitm_lv", sa.String(length=2), nullable=False),
        sa.Column("selfpay_prop_ppm", sa.Integer(), nullable=False),
        sa.Column("pric_uplmt_uyuan", sa.BigInteger(), nullable=True),
        sa.Column("begndate", sa.Date(), nullable=True),
        sa.Column("enddate", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("chrgitm_lv IN ('01', '02', '03')",
                           name=op.f("ck_catalogue_items_chrgitm_lv")),
        sa.CheckConstraint("selfpay_prop_ppm BETWEEN 0 AND 1000000",
                           name=op.f("ck_catalogue_items_selfpay_prop")),
        sa.CheckConstraint("pric_uplmt_uyuan IS NULL OR pric_uplmt_uyuan >= 0",
                           name=op.f("ck_catalogue_items_pric_uplmt")),
        sa.CheckConstraint("enddate IS NULL OR begndate IS NULL OR enddate >= begndate",
                           name=op.f("ck_catalogue_items_dates")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_items")),
        sa.UniqueConstraint("admdvs", "med_list_codg", name=op.f("uq_catalogue_items_admdvs")),
    )


def downgrade() -> None:
    op.drop_table("catalogue_items")
