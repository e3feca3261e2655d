"""The PostgreSQL bulk path of the imports: COPY a batch into a staging table, then
check and apply it with set-based statements, in one database transaction per batch.

The verdicts are the ones services/imports.py gives row by row (person_verdict,
institution_verdict, credited_person, reference.credit_person), spelled in SQL. A
batch of credits is ONE journal transaction: a +x posting per credit, one -sum posting
per region's contribution source, written before the journal_txns row whose trigger
checks they sum to zero; the personal account rows are locked in id order first.

A writer racing the batch (the same person, ref or code inserted between the check and
the insert) makes a count come out short: the batch is rolled back and checked again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from gongji.domain.errors import DomainError, refuse
from gongji.services.context import Context
from gongji.services.operations.import_rules import (
    PERSON_CREDENTIALS_DIFFER,
    end_bindings_if_policy,
)
from gongji.services.registry.reference import new_psn_no
from gongji.store import repo
from gongji.store.journal import new_txn_id

ATTEMPTS = 3
Refused = list[tuple[int, DomainError]]
Result = tuple[dict[str, int], Refused]


class Raced(Exception):
    """Another writer took a key this batch meant to insert; check the batch again."""

    def __init__(self) -> None:
        super().__init__("a concurrent writer kept taking this batch's keys; run the import again")


def apply(ctx: Context, kind: str, rows: list[tuple[int, object]], now: datetime) -> Result:
    """Apply one batch of checked rows [(line, row)]: ({outcome: count}, refusals)."""
    for attempt in range(1, ATTEMPTS + 1):
        try:
            with ctx.uow() as uow:
                result = _APPLY[kind](uow.conn, rows, now)
                uow.commit()
                return result
        except (Raced, IntegrityError):
            if attempt == ATTEMPTS:
                raise
    raise AssertionError("unreachable")


def _naive(moment: datetime) -> datetime:
    """Bound to `timestamp` columns as the store keeps them: naive UTC."""
    return moment.astimezone(UTC).replace(tzinfo=None)


def _stage(conn: Connection, name: str, ddl: str, columns: tuple[str, ...],
           values: Iterable[tuple]) -> None:
    conn.execute(text(f"CREATE TEMP TABLE {name} ({ddl}) ON COMMIT DROP"))
    cursor = conn.connection.driver_connection.cursor()
    with cursor, cursor.copy(f"COPY {name} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in values:
            copy.write_row(row)


def _refusals(conn: Connection, table: str, make: Callable[[str, object], DomainError]) -> Refused:
    rows = conn.execute(text(
        f"SELECT line, verdict, detail FROM {table}"
        " WHERE verdict NOT IN ('insert', 'update', 'unchanged') ORDER BY line")).all()
    return [(row.line, make(row.verdict, row.detail)) for row in rows]


def _outcomes(conn: Connection, table: str) -> dict[str, int]:
    counts = dict(conn.execute(text(f"SELECT verdict, count(*) FROM {table} GROUP BY verdict")
                               ).all())
    return {"inserted": counts.get("insert", 0), "updated": counts.get("update", 0),
            "unchanged": counts.get("unchanged", 0)}


# Lookups are LATERAL index probes per staged row: a plain join would let the planner
# hash the whole persons table for every batch.

# --- persons --------------------------------------------------------------------------------

_PERSON_VERDICT = """
CREATE TEMP TABLE checked_persons ON COMMIT DROP AS
SELECT s.*, p.id AS pid, p.psn_insu_stas AS p_stas, p.insuplc_admdvs AS p_admdvs,
       p.insutype AS detail,
       CASE WHEN p.id IS NOT NULL AND p.psn_name <> s.psn_name THEN 'NAME_MISMATCH'
            WHEN p.id IS NOT NULL AND p.insutype <> s.insutype THEN 'INSUTYPE_MISMATCH'
            WHEN s.card_no IS NOT NULL AND h.id IS NOT NULL
                 AND (p.id IS NULL OR h.id <> p.id) THEN 'CARD_IN_USE'
            WHEN p.id IS NULL THEN 'insert'
            WHEN p.psn_insu_stas <> s.stas OR p.insuplc_admdvs <> s.admdvs
                 OR (s.card_no IS NOT NULL AND s.card_no IS DISTINCT FROM p.card_no)
                 THEN 'update'
            ELSE 'unchanged' END AS verdict
FROM stage_persons s
LEFT JOIN LATERAL (SELECT * FROM persons WHERE certno = s.certno OFFSET 0) p ON true
LEFT JOIN LATERAL (SELECT id FROM persons WHERE card_no = s.card_no OFFSET 0) h ON true
"""

_PERSON_INSERT = """
WITH ins AS (
  INSERT INTO persons (psn_no, certno, psn_name, insutype, insuplc_admdvs, psn_insu_stas,
                       card_no, created_at, updated_at)
  SELECT psn_no, certno, psn_name, insutype, admdvs, stas, card_no, :now, :now
  FROM checked_persons WHERE verdict = 'insert' ORDER BY line
  ON CONFLICT DO NOTHING
  RETURNING id, psn_no, insutype
), acc AS (
  INSERT INTO accounts (code, kind, person_id, balance_fen, status)
  SELECT 'psn:' || psn_no, 'personal', id, 0, 'normal' FROM ins WHERE insutype = '310'
  RETURNING 1
)
SELECT (SELECT count(*) FROM ins) AS persons, (SELECT count(*) FROM acc) AS accounts
"""

_PERSON_UPDATE = """
UPDATE persons p SET psn_insu_stas = c.stas, insuplc_admdvs = c.admdvs,
                     card_no = COALESCE(c.card_no, p.card_no), updated_at = :now
FROM checked_persons c WHERE c.verdict = 'update' AND p.id = c.pid
"""


def _persons(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_persons",
           "line int, certno text, psn_name text, insutype text, admdvs text, stas text,"
           " card_no text, psn_no text",
           ("line", "certno", "psn_name", "insutype", "admdvs", "stas", "card_no", "psn_no"),
           ((line, r.certno, r.psn_name, r.insutype, r.admdvs, r.stas, r.card_no,
             new_psn_no(r.admdvs)) for line, r in rows))
    conn.execute(text(_PERSON_VERDICT))
    outcomes = _outcomes(conn, "checked_persons")
    made = conn.execute(text(_PERSON_INSERT), {"now": _naive(now)}).one()
    employees = conn.execute(text("SELECT count(*) FROM checked_persons"
                                  " WHERE verdict = 'insert' AND insutype = '310'")).scalar_one()
    if (made.persons, made.accounts) != (outcomes["inserted"], employees):
        raise Raced
    conn.execute(text(_PERSON_UPDATE), {"now": _naive(now)})
    moved = conn.execute(text(
        "SELECT pid, p_stas, p_admdvs, stas, admdvs FROM checked_persons"
        " WHERE verdict = 'update' AND (p_admdvs <> admdvs OR (stas = '2' AND p_stas <> '2'))"
        " ORDER BY pid")).all()
    for m in moved:  # rare: insurance ended or moved region
        before = SimpleNamespace(psn_insu_stas=m.p_stas, insuplc_admdvs=m.p_admdvs)
        end_bindings_if_policy(conn, m.pid, before, m.stas, m.admdvs, now)

    def make(code: str, detail: object) -> DomainError:
        return refuse(code, f"已登记为 {detail}") if code == "INSUTYPE_MISMATCH" else refuse(code)

    return outcomes, _refusals(conn, "checked_persons", make)


# --- kinships -------------------------------------------------------------------------------

_KINSHIP_VERDICT = """
CREATE TEMP TABLE checked_kinships ON COMMIT DROP AS
SELECT s.line, s.relation, s.inverse, p.id AS pid, r.id AS rid, NULL::text AS detail,
       CASE WHEN p.id IS NULL OR r.id IS NULL THEN 'PERSON_NOT_FOUND'
            WHEN k.relation IS NULL THEN 'insert'
            WHEN k.relation <> s.relation THEN 'KINSHIP_CONFLICT'
            ELSE 'unchanged' END AS verdict
FROM stage_kinships s
LEFT JOIN LATERAL (SELECT id FROM persons WHERE certno = s.certno OFFSET 0) p ON true
LEFT JOIN LATERAL (SELECT id FROM persons WHERE certno = s.relative_certno OFFSET 0) r ON true
LEFT JOIN LATERAL (SELECT relation FROM kinships
                   WHERE person_id = p.id AND relative_id = r.id OFFSET 0) k ON true
"""

_KINSHIP_INSERT = """
INSERT INTO kinships (person_id, relative_id, relation, created_at)
SELECT pid, rid, relation, :now FROM checked_kinships WHERE verdict = 'insert'
UNION ALL
SELECT rid, pid, inverse, :now FROM checked_kinships WHERE verdict = 'insert'
ON CONFLICT DO NOTHING
"""


def _kinships(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_kinships",
           "line int, certno text, relative_certno text, relation text, inverse text",
           ("line", "certno", "relative_certno", "relation", "inverse"),
           ((line, r.certno, r.relative_certno, r.relation.value, r.inverse.value)
            for line, r in rows))
    conn.execute(text(_KINSHIP_VERDICT))
    outcomes = _outcomes(conn, "checked_kinships")
    if conn.execute(text(_KINSHIP_INSERT), {"now": _naive(now)}).rowcount \
            != 2 * outcomes["inserted"]:
        raise Raced
    return outcomes, _refusals(conn, "checked_kinships", lambda code, _: refuse(code))


# --- institutions ---------------------------------------------------------------------------

_INSTITUTION_VERDICT = """
CREATE TEMP TABLE checked_institutions ON COMMIT DROP AS
SELECT s.*, i.id AS iid, NULL::text AS detail,
       CASE WHEN i.id IS NULL THEN 'insert'
            WHEN i.fixmedins_type <> s.kind OR i.admdvs <> s.admdvs THEN 'INSTITUTION_EXISTS'
            WHEN i.fixmedins_name <> s.name THEN 'update'
            ELSE 'unchanged' END AS verdict
FROM stage_institutions s
LEFT JOIN institutions i ON i.fixmedins_code = s.code
"""

_INSTITUTION_INSERT = """
WITH acc AS (
  INSERT INTO accounts (code, kind, status)
  SELECT 'inst:' || code, 'institution', 'normal' FROM checked_institutions
  WHERE verdict = 'insert' ORDER BY line
  ON CONFLICT DO NOTHING
  RETURNING id, code
), ins AS (
  INSERT INTO institutions (fixmedins_code, fixmedins_name, fixmedins_type, admdvs,
                            account_id, created_at)
  SELECT c.code, c.name, c.kind, c.admdvs, acc.id, :now
  FROM checked_institutions c JOIN acc ON acc.code = 'inst:' || c.code
  RETURNING 1
)
SELECT count(*) FROM ins
"""


def _institutions(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_institutions", "line int, code text, name text, kind text, admdvs text",
           ("line", "code", "name", "kind", "admdvs"),
           ((line, r.code, r.name, r.kind, r.admdvs) for line, r in rows))
    conn.execute(text(_INSTITUTION_VERDICT))
    outcomes = _outcomes(conn, "checked_institutions")
    if conn.execute(text(_INSTITUTION_INSERT), {"now": _naive(now)}).scalar_one() \
            != outcomes["inserted"]:
        raise Raced
    conn.execute(text("UPDATE institutions i SET fixmedins_name = c.name"
                      " FROM checked_institutions c WHERE c.verdict = 'update' AND i.id = c.iid"))
    return outcomes, _refusals(conn, "checked_institutions",
                               lambda code, _: refuse(code, "类型或医保区划与已登记的不同"))


# --- credits --------------------------------------------------------------------------------

_CREDIT_PERSONS = """
CREATE TEMP TABLE checked_credits ON COMMIT DROP AS
WITH found AS (
  SELECT s.line, s.ref, s.amount_fen, s.psn_no, s.certno,
         COALESCE(bp.id, bc.id) AS person_id, COALESCE(bp.certno, bc.certno) AS p_certno,
         COALESCE(bp.insuplc_admdvs, bc.insuplc_admdvs) AS admdvs
  FROM stage_credits s
  LEFT JOIN LATERAL (SELECT id, certno, insuplc_admdvs FROM persons
                     WHERE psn_no = s.psn_no OFFSET 0) bp ON true
  LEFT JOIN LATERAL (SELECT id, certno, insuplc_admdvs FROM persons
                     WHERE s.psn_no IS NULL AND certno = s.certno OFFSET 0) bc ON true
)
SELECT f.line, f.ref, f.amount_fen, f.person_id, f.admdvs, a.id AS account_id,
       NULL::text AS detail,
       CASE WHEN f.person_id IS NULL THEN 'PERSON_NOT_FOUND'
            WHEN f.psn_no IS NOT NULL AND f.certno IS NOT NULL AND f.p_certno <> f.certno
                 THEN 'INVALID_INPUT'
            WHEN a.id IS NULL THEN 'NO_ACCOUNT'
            ELSE 'insert' END AS verdict
FROM found f
LEFT JOIN LATERAL (SELECT id FROM accounts WHERE person_id = f.person_id AND kind = 'personal'
                   OFFSET 0) a ON true
"""

# Refs credited before need no lock. One credited between this check and the insert
# below makes the insert come out short: the batch is then checked again (Raced).
_CREDIT_REFS = """
UPDATE checked_credits c
SET verdict = CASE WHEN k.person_id = c.person_id AND k.amount_fen = c.amount_fen
                   THEN 'unchanged' ELSE 'CREDIT_REF_CONFLICT' END
FROM credits k WHERE k.ref = c.ref AND c.verdict = 'insert'
"""

_CREDIT_LOCK = """
SELECT count(*) FROM (
  SELECT id FROM accounts
  WHERE id IN (SELECT account_id FROM checked_credits WHERE verdict = 'insert')
  ORDER BY id FOR UPDATE
) AS locked
"""

_CREDIT_ROWS = """
INSERT INTO credits (ref, person_id, account_id, amount_fen, source_account_id, txn_id,
                     created_at)
SELECT c.ref, c.person_id, c.account_id, c.amount_fen, src.account_id, :txn, :now
FROM checked_credits c JOIN batch_sources src ON src.admdvs = c.admdvs
WHERE c.verdict = 'insert' ORDER BY c.line
ON CONFLICT (ref) DO NOTHING
"""

# Postings of one account follow file order, each with the balance right after it.
_CREDIT_POSTINGS = """
INSERT INTO postings (txn_id, account_id, amount_fen, balance_after_fen, at, kind)
SELECT :txn, account_id, amount_fen, after_fen, :now, 'credit' FROM (
  SELECT c.line, c.account_id, c.amount_fen,
         a.balance_fen + SUM(c.amount_fen) OVER (PARTITION BY c.account_id ORDER BY c.line)
           AS after_fen
  FROM checked_credits c JOIN accounts a ON a.id = c.account_id
  WHERE c.verdict = 'insert'
  ORDER BY c.line
) AS legs
"""

_CREDIT_BALANCES = """
UPDATE accounts a SET balance_fen = a.balance_fen + t.total_fen
FROM (SELECT account_id, SUM(amount_fen) AS total_fen FROM checked_credits
      WHERE verdict = 'insert' GROUP BY account_id) AS t
WHERE a.id = t.account_id
"""


def _credits(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_credits", "line int, psn_no text, certno text, amount_fen bigint, ref text",
           ("line", "psn_no", "certno", "amount_fen", "ref"),
           ((line, r.psn_no, r.certno, r.amount_fen, r.ref) for line, r in rows))
    conn.execute(text(_CREDIT_PERSONS))
    conn.execute(text(_CREDIT_REFS))
    conn.execute(text(_CREDIT_LOCK))
    outcomes = _outcomes(conn, "checked_credits")
    if outcomes["inserted"]:
        _post_credit_batch(conn, outcomes["inserted"], now)

    def make(code: str, _: object) -> DomainError:
        if code == "INVALID_INPUT":
            return refuse(code, PERSON_CREDENTIALS_DIFFER)
        return refuse(code)

    return outcomes, _refusals(conn, "checked_credits", make)


def _post_credit_batch(conn: Connection, count: int, now: datetime) -> None:
    """One journal transaction: the credits' postings, one contribution leg per region,
    the balances, and last the journal_txns row the trigger checks."""
    at = _naive(now)
    sources = conn.execute(text(
        "SELECT admdvs, SUM(amount_fen) AS total_fen FROM checked_credits"
        " WHERE verdict = 'insert' GROUP BY admdvs ORDER BY admdvs")).all()
    source_ids = {s.admdvs: repo.system_account(conn, f"contrib:{s.admdvs}", "contribution")
                  for s in sources}
    conn.execute(text("CREATE TEMP TABLE batch_sources (admdvs text, account_id bigint)"
                      " ON COMMIT DROP"))
    conn.execute(text("INSERT INTO batch_sources VALUES (:admdvs, :account_id)"),
                 [{"admdvs": a, "account_id": i} for a, i in source_ids.items()])
    txn_id = new_txn_id(conn)
    if conn.execute(text(_CREDIT_ROWS), {"txn": txn_id, "now": at}).rowcount != count:
        raise Raced
    conn.execute(text(_CREDIT_POSTINGS), {"txn": txn_id, "now": at})
    conn.execute(text(
        "INSERT INTO postings (txn_id, account_id, amount_fen, at, kind)"
        " VALUES (:txn, :account, :amount, :now, 'credit')"),
        [{"txn": txn_id, "now": at, "amount": -s.total_fen, "account": source_ids[s.admdvs]}
         for s in sources])
    conn.execute(text(_CREDIT_BALANCES))
    conn.execute(text(
        "INSERT INTO journal_txns (id, kind, ref, created_at, posting_count)"
        " VALUES (:txn, 'credit_batch', NULL, :now, :n)"),
        {"txn": txn_id, "now": at, "n": count + len(sources)})


_APPLY = {"persons": _persons, "kinships": _kinships, "institutions": _institutions,
          "credits": _credits}
