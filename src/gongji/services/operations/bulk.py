"""The PostgreSQL bulk path of the imports: COPY a batch into a staging table, gather
what the registry holds for every row in one set-based query, judge each row with the
verdicts the row path uses (import_rules.py), and apply the rows let in with set-based
statements, in one database transaction per batch.

A batch of credits is ONE journal transaction posted through journal.post_batch: a +x
leg per credit, one -sum leg per region's contribution source; the personal account
rows are locked in id order first.

A writer racing the batch (the same person, ref or code inserted between the check and
the insert) makes a count come out short: the batch is rolled back and checked again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from types import SimpleNamespace

from sqlalchemy import Connection, Row, text
from sqlalchemy.exc import IntegrityError

from gongji.domain.errors import DomainError
from gongji.services.context import Context
from gongji.services.operations.import_rules import (
    OUTCOME,
    credit_verdict,
    end_bindings_if_policy,
    institution_verdict,
    kinship_verdict,
    person_verdict,
)
from gongji.services.registry.reference import new_psn_no
from gongji.store import repo
from gongji.store.journal import Leg, new_txn_id, post_batch

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


def _judge(conn: Connection, table: str, columns: str, rows: list,
           judge: Callable[[Row, object], str]) -> Result:
    """Judge every row by the facts gathered into `table` (one row per line); the lines
    not to apply (refused, unchanged) leave the table, so what stays is written as is.

    Only the `columns` the verdict reads are fetched, by the driver's plain path: this
    Python work competes with the parsing of the next batch for the interpreter."""
    facts = {f.line: f for f in conn.exec_driver_sql(f"SELECT line, {columns} FROM {table}")}
    outcomes = {"inserted": 0, "updated": 0, "unchanged": 0}
    refused: Refused = []
    idle = []
    for line, row in rows:
        try:
            verdict = judge(facts[line], row)
        except DomainError as error:
            refused.append((line, error))
            idle.append(line)
            continue
        outcomes[OUTCOME[verdict]] += 1
        if verdict == "unchanged":
            idle.append(line)
    if idle:
        # One array literal: psycopg would dump a long list element by element.
        conn.execute(text(f"DELETE FROM {table} WHERE line = ANY(CAST(:lines AS int[]))"),
                     {"lines": "{" + ",".join(map(str, idle)) + "}"})
    return outcomes, refused


def _known(row: Row, **names: str) -> SimpleNamespace | None:
    """The registered record a verdict compares with, from the facts' columns
    (`names`: the verdict's name -> the column's); None when nothing is registered."""
    if getattr(row, names["id"]) is None:
        return None
    return SimpleNamespace(**{name: getattr(row, column) for name, column in names.items()})


# Lookups are LATERAL index probes per staged row: a plain join would let the planner
# hash the whole persons table for every batch.

# --- persons --------------------------------------------------------------------------------

# What person_verdict is given: the person of the ID number, the holder of the card.
_PERSON_FACTS = """
CREATE TEMP TABLE checked_persons ON COMMIT DROP AS
SELECT s.*, p.id AS pid, p.psn_name AS p_name, p.insutype AS p_insutype,
       p.psn_insu_stas AS p_stas, p.insuplc_admdvs AS p_admdvs, p.card_no AS p_card_no,
       h.id AS holder
FROM stage_persons s
LEFT JOIN LATERAL (SELECT * FROM persons WHERE certno = s.certno OFFSET 0) p ON true
LEFT JOIN LATERAL (SELECT id FROM persons WHERE card_no = s.card_no OFFSET 0) h ON true
"""

_PERSON_INSERT = """
WITH ins AS (
  INSERT INTO persons (psn_no, certno, psn_name, insutype, insuplc_admdvs, psn_insu_stas,
                       card_no, created_at, updated_at)
  SELECT psn_no, certno, psn_name, insutype, admdvs, stas, card_no, :now, :now
  FROM checked_persons WHERE pid IS NULL ORDER BY line
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
FROM checked_persons c WHERE p.id = c.pid
"""


def _persons(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_persons",
           "line int, certno text, psn_name text, insutype text, admdvs text, stas text,"
           " card_no text, psn_no text",
           ("line", "certno", "psn_name", "insutype", "admdvs", "stas", "card_no", "psn_no"),
           ((line, r.certno, r.psn_name, r.insutype, r.admdvs, r.stas, r.card_no,
             new_psn_no(r.admdvs)) for line, r in rows))
    conn.execute(text(_PERSON_FACTS))
    outcomes, refused = _judge(
        conn, "checked_persons", "pid, p_name, p_insutype, p_stas, p_admdvs, p_card_no, holder",
        rows, _person_verdict)
    made = conn.execute(text(_PERSON_INSERT), {"now": _naive(now)}).one()
    employees = conn.execute(text("SELECT count(*) FROM checked_persons"
                                  " WHERE pid IS NULL AND insutype = '310'")).scalar_one()
    if (made.persons, made.accounts) != (outcomes["inserted"], employees):
        raise Raced
    conn.execute(text(_PERSON_UPDATE), {"now": _naive(now)})
    moved = conn.execute(text(
        "SELECT pid, p_stas, p_admdvs, stas, admdvs FROM checked_persons"
        " WHERE pid IS NOT NULL AND (p_admdvs <> admdvs OR (stas = '2' AND p_stas <> '2'))"
        " ORDER BY pid")).all()
    for m in moved:  # rare: insurance ended or moved region
        before = SimpleNamespace(psn_insu_stas=m.p_stas, insuplc_admdvs=m.p_admdvs)
        end_bindings_if_policy(conn, m.pid, before, m.stas, m.admdvs, now)
    return outcomes, refused


def _person_verdict(facts: Row, row: object) -> str:
    existing = _known(facts, id="pid", psn_name="p_name", insutype="p_insutype",
                      psn_insu_stas="p_stas", insuplc_admdvs="p_admdvs", card_no="p_card_no")
    return person_verdict(existing, facts.holder, row)


# --- kinships -------------------------------------------------------------------------------

# What kinship_verdict is given: both persons, what the relative is registered as.
_KINSHIP_FACTS = """
CREATE TEMP TABLE checked_kinships ON COMMIT DROP AS
SELECT s.line, s.relation, s.inverse, p.id AS pid, r.id AS rid, k.relation AS registered
FROM stage_kinships s
LEFT JOIN LATERAL (SELECT id FROM persons WHERE certno = s.certno OFFSET 0) p ON true
LEFT JOIN LATERAL (SELECT id FROM persons WHERE certno = s.relative_certno OFFSET 0) r ON true
LEFT JOIN LATERAL (SELECT relation FROM kinships
                   WHERE person_id = p.id AND relative_id = r.id OFFSET 0) k ON true
"""

_KINSHIP_INSERT = """
INSERT INTO kinships (person_id, relative_id, relation, created_at)
SELECT pid, rid, relation, :now FROM checked_kinships
UNION ALL
SELECT rid, pid, inverse, :now FROM checked_kinships
ON CONFLICT DO NOTHING
"""


def _kinships(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_kinships",
           "line int, certno text, relative_certno text, relation text, inverse text",
           ("line", "certno", "relative_certno", "relation", "inverse"),
           ((line, r.certno, r.relative_certno, r.relation.value, r.inverse.value)
            for line, r in rows))
    conn.execute(text(_KINSHIP_FACTS))
    outcomes, refused = _judge(conn, "checked_kinships", "pid, rid, registered", rows,
                               lambda facts, row: kinship_verdict(facts.pid, facts.rid,
                                                                  facts.registered, row))
    if conn.execute(text(_KINSHIP_INSERT), {"now": _naive(now)}).rowcount \
            != 2 * outcomes["inserted"]:
        raise Raced
    return outcomes, refused


# --- institutions ---------------------------------------------------------------------------

# What institution_verdict is given: the institution registered with the code.
_INSTITUTION_FACTS = """
CREATE TEMP TABLE checked_institutions ON COMMIT DROP AS
SELECT s.*, i.id AS iid, i.fixmedins_type AS i_type, i.admdvs AS i_admdvs,
       i.fixmedins_name AS i_name
FROM stage_institutions s
LEFT JOIN institutions i ON i.fixmedins_code = s.code
"""

_INSTITUTION_INSERT = """
WITH acc AS (
  INSERT INTO accounts (code, kind, status)
  SELECT 'inst:' || code, 'institution', 'normal' FROM checked_institutions
  WHERE iid IS NULL ORDER BY line
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
    conn.execute(text(_INSTITUTION_FACTS))
    outcomes, refused = _judge(conn, "checked_institutions", "iid, i_type, i_admdvs, i_name",
                               rows, _institution_verdict)
    if conn.execute(text(_INSTITUTION_INSERT), {"now": _naive(now)}).scalar_one() \
            != outcomes["inserted"]:
        raise Raced
    conn.execute(text("UPDATE institutions i SET fixmedins_name = c.name"
                      " FROM checked_institutions c WHERE i.id = c.iid"))
    return outcomes, refused


def _institution_verdict(facts: Row, row: object) -> str:
    existing = _known(facts, id="iid", fixmedins_type="i_type", admdvs="i_admdvs",
                      fixmedins_name="i_name")
    return institution_verdict(existing, row)


# --- credits --------------------------------------------------------------------------------

# What credit_verdict is given: the person named (by 人员编号, else 公民身份号码), their
# account, the credit booked before with the ref. Refs credited before need no lock; one
# credited between this look and the insert below makes the insert come out short: the
# batch is then checked again (Raced).
_CREDIT_FACTS = """
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
SELECT f.line, f.ref, f.amount_fen, f.person_id, f.p_certno, f.admdvs, a.id AS account_id,
       k.person_id AS k_person_id, k.amount_fen AS k_amount_fen
FROM found f
LEFT JOIN LATERAL (SELECT id FROM accounts WHERE person_id = f.person_id AND kind = 'personal'
                   OFFSET 0) a ON true
LEFT JOIN LATERAL (SELECT person_id, amount_fen FROM credits WHERE ref = f.ref OFFSET 0) k
  ON true
"""

_CREDIT_LOCK = """
SELECT count(*) FROM (
  SELECT id FROM accounts WHERE id IN (SELECT account_id FROM checked_credits)
  ORDER BY id FOR UPDATE
) AS locked
"""

_CREDIT_ROWS = """
INSERT INTO credits (ref, person_id, account_id, amount_fen, source_account_id, txn_id,
                     created_at)
SELECT c.ref, c.person_id, c.account_id, c.amount_fen, src.account_id, :txn, :now
FROM checked_credits c JOIN batch_sources src ON src.admdvs = c.admdvs
ORDER BY c.line
ON CONFLICT (ref) DO NOTHING
"""

# The legs in file order, each with its account's balance right after it (the rows are
# locked): what journal.post_batch checks and posts.
_CREDIT_LEGS = """
SELECT c.account_id, c.amount_fen, c.admdvs,
       a.balance_fen + SUM(c.amount_fen) OVER (PARTITION BY c.account_id ORDER BY c.line)
         AS after_fen
FROM checked_credits c JOIN accounts a ON a.id = c.account_id
ORDER BY c.line
"""


def _credits(conn: Connection, rows: list, now: datetime) -> Result:
    _stage(conn, "stage_credits", "line int, psn_no text, certno text, amount_fen bigint, ref text",
           ("line", "psn_no", "certno", "amount_fen", "ref"),
           ((line, r.psn_no, r.certno, r.amount_fen, r.ref) for line, r in rows))
    conn.execute(text(_CREDIT_FACTS))
    outcomes, refused = _judge(
        conn, "checked_credits", "p_certno, account_id, k_person_id, k_amount_fen, person_id",
        rows, _credit_verdict)
    conn.execute(text(_CREDIT_LOCK))
    if outcomes["inserted"]:
        _post_credit_batch(conn, outcomes["inserted"], now)
    return outcomes, refused


def _credit_verdict(facts: Row, row: object) -> str:
    earlier = _known(facts, id="k_person_id", person_id="k_person_id",
                     amount_fen="k_amount_fen")
    return credit_verdict(facts.p_certno, facts.account_id, earlier, facts.person_id, row)


def _post_credit_batch(conn: Connection, count: int, now: datetime) -> None:
    """One journal transaction: a leg per credit, one contribution leg per region; the
    credits rows name it."""
    legs = conn.exec_driver_sql(_CREDIT_LEGS).all()
    totals: dict[str, int] = {}
    for leg in legs:
        totals[leg.admdvs] = totals.get(leg.admdvs, 0) + leg.amount_fen
    source_ids = {admdvs: repo.system_account(conn, f"contrib:{admdvs}", "contribution")
                  for admdvs in sorted(totals)}
    conn.execute(text("CREATE TEMP TABLE batch_sources (admdvs text, account_id bigint)"
                      " ON COMMIT DROP"))
    conn.execute(text("INSERT INTO batch_sources VALUES (:admdvs, :account_id)"),
                 [{"admdvs": a, "account_id": i} for a, i in source_ids.items()])
    txn_id = new_txn_id(conn)
    if conn.execute(text(_CREDIT_ROWS), {"txn": txn_id, "now": _naive(now)}).rowcount != count:
        raise Raced
    post_batch(conn, txn_id, "credit",
               [Leg(leg.account_id, leg.amount_fen, leg.after_fen) for leg in legs]
               + [Leg(source_ids[a], -total) for a, total in sorted(totals.items())],
               now, txn_kind="credit_batch")


_APPLY = {"persons": _persons, "kinships": _kinships, "institutions": _institutions,
          "credits": _credits}
