"""region policies as dated versions

Revision ID: 0011
Revises: 0010

- `policy_versions`: one row per published change of a province's or a region's rules
  (only the rules it sets, canonical JSON), seeded here with one row per shipped file
  (gongji/policies/*.toml: 2 provinces, 21 regions), in force since SEED_FROM.
- `settlements.policy_version`: the version a settlement applied; settlements made before
  this revision get their patient's region's seed (the rules they were made under).
- `persons.previous_admdvs`, `persons.moved_at`: the last move to another pooling region,
  kept by a trigger on every update (REST, row import and the PostgreSQL bulk import alike),
  stamped with the row's own `updated_at`; what the auto-end rule needs when a version
  that switches it on takes effect.
"""

import json
from datetime import UTC, date, datetime

import sqlalchemy as sa
from alembic import op

from gongji.domain.policy_files import shipped_layers

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

SEED_FROM = date(2000, 1, 1)  # the shipped rules apply to every day before a published version

_SQLITE_TRIGGER = """
CREATE TRIGGER persons_track_move AFTER UPDATE OF insuplc_admdvs ON persons
WHEN OLD.insuplc_admdvs <> NEW.insuplc_admdvs
BEGIN
  UPDATE persons SET previous_admdvs = OLD.insuplc_admdvs, moved_at = NEW.updated_at
  WHERE id = NEW.id;
END"""

_PG_FUNCTION = """
CREATE FUNCTION persons_track_move() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.insuplc_admdvs IS DISTINCT FROM OLD.insuplc_admdvs THEN
    NEW.previous_admdvs := OLD.insuplc_admdvs;
    NEW.moved_at := NEW.updated_at;
  END IF;
  RETURN NEW;
END $$"""

_PG_TRIGGER = """
CREATE TRIGGER persons_track_move BEFORE UPDATE OF insuplc_admdvs ON persons
FOR EACH ROW EXECUTE FUNCTION persons_track_move()"""


def upgrade() -> None:
    versions = op.create_table(
        "policy_versions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  primary_key=True, autoincrement=True),
        sa.Column("admdvs", sa.String(6), nullable=False),
        sa.Column("effective_from", sa.Date(), nullable=False),
        sa.Column("rules", sa.Text(), nullable=False),
        sa.Column("sources", sa.Text()),
        sa.Column("published_at", sa.DateTime(), nullable=False),
        sa.Column("published_by", sa.String(40), nullable=False),
        sa.Column("applied_at", sa.DateTime()),
        sa.CheckConstraint("length(admdvs) = 6", name="ck_policy_versions_admdvs"),
        sa.PrimaryKeyConstraint("id", name="pk_policy_versions"),
    )
    op.create_index("ix_policy_versions_admdvs_from", "policy_versions",
                    ["admdvs", "effective_from", "id"])
    _seed(versions)
    with op.batch_alter_table("settlements") as batch:
        batch.add_column(sa.Column("policy_version", sa.BigInteger()))
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("previous_admdvs", sa.String(6)))
        batch.add_column(sa.Column("moved_at", sa.DateTime()))
    op.execute("""
        UPDATE settlements SET policy_version = (
          SELECT v.id FROM policy_versions v JOIN persons p ON v.admdvs = p.insuplc_admdvs
          WHERE p.id = settlements.person_id)""")
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        op.execute(_PG_TRIGGER)
    else:
        op.execute(_SQLITE_TRIGGER)


def _seed(versions: sa.Table) -> None:
    """One version per shipped file, provinces first (their ids are lower: a region's own
    seed folds after its province's)."""
    now = datetime.now(UTC).replace(tzinfo=None)
    layers = sorted(shipped_layers().values(), key=lambda la: (not la.is_province, la.admdvs))
    op.bulk_insert(versions, [{
        "admdvs": layer.admdvs, "effective_from": SEED_FROM,
        "rules": json.dumps(layer.rules, ensure_ascii=False, sort_keys=True),
        "sources": json.dumps({"sources": layer.sources, "examples": sorted(layer.examples)},
                              ensure_ascii=False, sort_keys=True),
        "published_at": now, "published_by": "shipped", "applied_at": now,
    } for layer in layers])


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER persons_track_move ON persons")
        op.execute("DROP FUNCTION persons_track_move()")
    else:
        op.execute("DROP TRIGGER persons_track_move")
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("moved_at")
        batch.drop_column("previous_admdvs")
    with op.batch_alter_table("settlements") as batch:
        batch.drop_column("policy_version")
    op.drop_index("ix_policy_versions_admdvs_from", table_name="policy_versions")
    op.drop_table("policy_versions")
