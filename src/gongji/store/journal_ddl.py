"""Database-side rules of the journal, for PostgreSQL and SQLite alike.

- a journal transaction row is inserted after its postings and is refused unless
  they number `posting_count` (>= 2) and sum to zero;
- a posting cannot be added to a transaction that is already written;
- postings and journal transactions can never be updated or deleted.
The deferred foreign key from postings to journal_txns makes a posting without
its transaction row fail at commit.
"""

from __future__ import annotations

from alembic import op

_PG = [
    """
    CREATE FUNCTION gongji_txn_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
    DECLARE s bigint; n integer;
    BEGIN
      SELECT COALESCE(SUM(amount_fen), 0), COUNT(*) INTO s, n FROM postings WHERE txn_id = NEW.id;
      IF s <> 0 OR n <> NEW.posting_count THEN
        RAISE EXCEPTION 'journal transaction % unbalanced: sum % count % (declared %)',
          NEW.id, s, n, NEW.posting_count USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """
    CREATE TRIGGER journal_txns_balanced AFTER INSERT ON journal_txns
    FOR EACH ROW EXECUTE FUNCTION gongji_txn_balanced()""",
    """
    CREATE FUNCTION gongji_posting_open() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      IF EXISTS (SELECT 1 FROM journal_txns WHERE id = NEW.txn_id) THEN
        RAISE EXCEPTION 'journal transaction % is already written', NEW.txn_id
          USING ERRCODE = 'check_violation';
      END IF;
      RETURN NEW;
    END $$""",
    """
    CREATE TRIGGER postings_open BEFORE INSERT ON postings
    FOR EACH ROW EXECUTE FUNCTION gongji_posting_open()""",
    """
    CREATE FUNCTION gongji_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION '% rows are never changed', TG_TABLE_NAME USING ERRCODE = 'check_violation';
    END $$""",
    """
    CREATE TRIGGER postings_immutable BEFORE UPDATE OR DELETE ON postings
    FOR EACH ROW EXECUTE FUNCTION gongji_immutable()""",
    """
    CREATE TRIGGER journal_txns_immutable BEFORE UPDATE OR DELETE ON journal_txns
    FOR EACH ROW EXECUTE FUNCTION gongji_immutable()""",
    "CREATE SEQUENCE journal_txn_ids",
]

_SQLITE = [
    """
    CREATE TRIGGER journal_txns_balanced AFTER INSERT ON journal_txns
    WHEN (SELECT COALESCE(SUM(amount_fen), 0) FROM postings WHERE txn_id = NEW.id) <> 0
      OR (SELECT COUNT(*) FROM postings WHERE txn_id = NEW.id) <> NEW.posting_count
    BEGIN SELECT RAISE(ABORT, 'journal transaction unbalanced'); END""",
    """
    CREATE TRIGGER postings_open BEFORE INSERT ON postings
    WHEN EXISTS (SELECT 1 FROM journal_txns WHERE id = NEW.txn_id)
    BEGIN SELECT RAISE(ABORT, 'journal transaction is already written'); END""",
    """
    CREATE TRIGGER postings_no_update BEFORE UPDATE ON postings
    BEGIN SELECT RAISE(ABORT, 'postings are never changed'); END""",
    """
    CREATE TRIGGER postings_no_delete BEFORE DELETE ON postings
    BEGIN SELECT RAISE(ABORT, 'postings are never changed'); END""",
    """
    CREATE TRIGGER journal_txns_no_update BEFORE UPDATE ON journal_txns
    BEGIN SELECT RAISE(ABORT, 'journal transactions are never changed'); END""",
    """
    CREATE TRIGGER journal_txns_no_delete BEFORE DELETE ON journal_txns
    BEGIN SELECT RAISE(ABORT, 'journal transactions are never changed'); END""",
]


def create() -> None:
    dialect = op.get_bind().dialect.name
    for statement in _PG if dialect == "postgresql" else _SQLITE:
        op.execute(statement)


def drop() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS journal_txns_immutable ON journal_txns")
        op.execute("DROP TRIGGER IF EXISTS postings_immutable ON postings")
        op.execute("DROP TRIGGER IF EXISTS postings_open ON postings")
        op.execute("DROP TRIGGER IF EXISTS journal_txns_balanced ON journal_txns")
        op.execute("DROP FUNCTION IF EXISTS gongji_immutable, gongji_posting_open, gongji_txn_balanced")
        op.execute("DROP SEQUENCE IF EXISTS journal_txn_ids")
    else:
        for name in ("journal_txns_balanced", "postings_open", "postings_no_update",
                     "postings_no_delete", "journal_txns_no_update", "journal_txns_no_delete"):
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
