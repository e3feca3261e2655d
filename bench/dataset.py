"""The benchmark's world: 100,000 persons in families of 2-5, each relative with 1-3 helpers.

Rows are generated in Python (deterministic seed) and bulk-loaded into the tables the
service uses: COPY on PostgreSQL, executemany on SQLite. Every opening balance is a
balanced journal transaction (contribution source -> personal account) whose posting
carries the balance after, so the journal's triggers check the load too.

One extra family is the hot case: a single helper bound to four residents (no own
account), so every settlement of theirs charges the same helper account.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Engine

from gongji.domain.idcard import check_digit
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.registry import reference

REGIONS = {"542500": "542521", "451000": "451002"}  # admdvs -> county of the ID numbers
HOSPITALS_PER_REGION = 10
LOADED_AT = datetime(2025, 1, 1, 0, 0, tzinfo=UTC)
_SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
_GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰"


@dataclass
class World:
    """What the load clients need: who can settle where, and the hot family."""

    patients: list[tuple[str, str, str]] = field(default_factory=list)  # psn_no, certno, admdvs
    hot_patients: list[tuple[str, str, str]] = field(default_factory=list)
    hot_helper_psn_no: str = ""
    hospitals: dict[str, list[str]] = field(default_factory=dict)  # admdvs -> codes
    persons: int = 0
    bindings: int = 0
    accounts: int = 0


@dataclass
class _Rows:
    persons: list[tuple] = field(default_factory=list)
    accounts: list[tuple] = field(default_factory=list)
    kinships: list[tuple] = field(default_factory=list)
    bindings: list[tuple] = field(default_factory=list)
    postings: list[tuple] = field(default_factory=list)
    txns: list[tuple] = field(default_factory=list)
    patient_ids: list[int] = field(default_factory=list)


class _Builder:
    def __init__(self, seed: int):
        self.rng = random.Random(seed)
        self.rows = _Rows()
        self.world = World()
        self.certnos: set[str] = set()
        self.contrib_account: dict[str, int] = {}
        self.account_of: dict[int, int] = {}  # person id -> account id
        self.next_binding = 1
        self.next_txn = 1

    # persons -------------------------------------------------------------------------------
    def person(self, admdvs: str, born: date, insutype: str) -> int:
        person_id = len(self.rows.persons) + 1
        certno = self._certno(REGIONS[admdvs], born)
        name = self.rng.choice(_SURNAMES) + "".join(
            self.rng.choice(_GIVEN) for _ in range(self.rng.randint(1, 2)))
        self.rows.persons.append((person_id, f"{admdvs}{person_id:014d}", certno, name, insutype,
                                  admdvs, "1", f"C{person_id:09d}", LOADED_AT, LOADED_AT))
        return person_id

    def _certno(self, county: str, born: date) -> str:
        while True:
            body = f"{county}{born:%Y%m%d}{self.rng.randint(0, 999):03d}"
            certno = body + check_digit(body)
            if certno not in self.certnos:
                self.certnos.add(certno)
                return certno
            born += timedelta(days=1)

    def account(self, person_id: int, credit_fen: int) -> None:
        """A personal account whose opening balance is one balanced journal credit."""
        account_id = len(self.rows.accounts) + 1
        psn_no, admdvs = self.rows.persons[person_id - 1][1], self.rows.persons[person_id - 1][5]
        self.rows.accounts.append((account_id, f"psn:{psn_no}", "personal", person_id, "normal",
                                   credit_fen))
        self.account_of[person_id] = account_id
        txn_id, self.next_txn = self.next_txn, self.next_txn + 1
        source = self.contrib_account[admdvs]
        self.rows.postings += [
            (txn_id, source, -credit_fen, None, LOADED_AT, "credit"),
            (txn_id, account_id, credit_fen, credit_fen, LOADED_AT, "credit"),
        ]
        self.rows.txns.append((txn_id, "credit", f"bench-open-{psn_no}", LOADED_AT, 2))

    def system_accounts(self, first_id: int) -> None:
        """Contribution sources, created before the personal accounts reference them."""
        for offset, admdvs in enumerate(REGIONS):
            self.contrib_account[admdvs] = first_id + offset

    # families ------------------------------------------------------------------------------
    def family(self, admdvs: str, size: int) -> None:
        rng = self.rng
        members: list[tuple[int, str]] = []  # person id, role
        for index in range(size):
            if index < 2:
                born = date(rng.randint(1955, 1990), rng.randint(1, 12), rng.randint(1, 28))
                employee = index == 0 or rng.random() < 0.75
                role = "spouse"
            else:
                born = date(rng.randint(1985, 2020), rng.randint(1, 12), rng.randint(1, 28))
                employee = born.year <= 2003 and rng.random() < 0.5
                role = "child"
            person_id = self.person(admdvs, born, "310" if employee else "390")
            if employee:
                self.account(person_id, rng.randint(100, 5000) * 100)
            members.append((person_id, role))
        self._kinships(members)
        for beneficiary, b_role in members:
            helpers = [(p, r) for p, r in members if p != beneficiary and p in self.account_of]
            rng.shuffle(helpers)
            chosen = helpers[:rng.randint(1, 3)]
            for order, (helper, h_role) in enumerate(chosen, start=1):
                self.binding(helper, beneficiary, _relation(h_role, b_role), order)
            if chosen:
                psn = self.rows.persons[beneficiary - 1]
                self.world.patients.append((psn[1], psn[2], admdvs))
                self.rows.patient_ids.append(beneficiary)

    def _kinships(self, members: list[tuple[int, str]]) -> None:
        for person, p_role in members:
            for relative, r_role in members:
                if person != relative:
                    self.rows.kinships.append((person, relative, _relation(p_role, r_role),
                                               LOADED_AT))

    def binding(self, helper: int, beneficiary: int, relation: str, order: int) -> None:
        self.rows.bindings.append((self.next_binding, helper, beneficiary, relation, "active",
                                   "hall", "registry", "bench", order,
                                   LOADED_AT + timedelta(seconds=self.next_binding)))
        self.next_binding += 1

    def hot_family(self, admdvs: str) -> None:
        """One helper with a deep account and four resident relatives who have none."""
        helper = self.person(admdvs, date(1970, 5, 5), "310")
        self.account(helper, 100_000_000 * 100)
        members = [(helper, "spouse")]
        for index in range(4):
            role = "spouse" if index == 0 else "child"
            born = date(1972, 3, 3) if index == 0 else date(2000 + index, 1, 1)
            members.append((self.person(admdvs, born, "390"), role))
        self._kinships(members)
        for beneficiary, role in members[1:]:
            self.binding(helper, beneficiary, _relation("spouse", role), 1)
            psn = self.rows.persons[beneficiary - 1]
            self.world.hot_patients.append((psn[1], psn[2], admdvs))
            self.rows.patient_ids.append(beneficiary)
        self.world.hot_helper_psn_no = self.rows.persons[helper - 1][1]


def _relation(helper_role: str, beneficiary_role: str) -> str:
    """What the beneficiary is to the helper, in a family of a couple and their children."""
    if helper_role == "spouse":
        return "spouse" if beneficiary_role == "spouse" else "child"
    return "parent" if beneficiary_role == "spouse" else "sibling"


def build(persons: int, seed: int = 20250601) -> tuple[World, _Rows]:
    builder = _Builder(seed)
    builder.system_accounts(first_id=persons + 1)  # personal accounts are fewer than persons
    regions = list(REGIONS)
    while persons - 5 - len(builder.rows.persons) >= 7:  # 5 for the hot family
        builder.family(builder.rng.choice(regions), builder.rng.randint(2, 5))
    left = persons - 5 - len(builder.rows.persons)  # 2..6: fill up exactly
    for size in ((3, 3) if left == 6 else (left,)):
        builder.family(regions[0], size)
    builder.hot_family(regions[0])
    world = builder.world
    world.persons = len(builder.rows.persons)
    world.bindings = len(builder.rows.bindings)
    world.accounts = len(builder.rows.accounts)
    return world, builder.rows


# loading --------------------------------------------------------------------------------------

_COLUMNS = {
    "persons": "id, psn_no, certno, psn_name, insutype, insuplc_admdvs, psn_insu_stas, card_no,"
               " created_at, updated_at",
    "accounts": "id, code, kind, person_id, status, balance_fen",
    "kinships": "person_id, relative_id, relation, created_at",
    "bindings": "id, helper_id, beneficiary_id, relation, status, channel, verification,"
                " clerk_id, order_pos, activated_at",
    "postings": "txn_id, account_id, amount_fen, balance_after_fen, at, kind",
    "journal_txns": "id, kind, ref, created_at, posting_count",
    "fund_accumulators": "person_id, year, scene, deductible_used_fen, fund_paid_fen",
}


def _naive(row: tuple) -> tuple:
    """Timestamps are stored naive UTC (store/types.py)."""
    return tuple(v.replace(tzinfo=None) if isinstance(v, datetime) else v for v in row)


def _sqlite_row(row: tuple) -> tuple:
    """SQLAlchemy's SQLite DateTime text format."""
    return tuple(f"{v:%Y-%m-%d %H:%M:%S.%f}" if isinstance(v, datetime) else v
                 for v in _naive(row))


def load(engine: Engine, persons: int, seed: int = 20250601) -> World:
    """Fill an empty, migrated database; returns who may settle where."""
    world, rows = build(persons, seed)
    system = [(persons + 1 + i, f"contrib:{admdvs}", "contribution", None, "normal", None)
              for i, admdvs in enumerate(REGIONS)]
    # What repo.system_account would create on the first settlement, made up front.
    system += [(persons + 1 + len(system) + i, code, kind, None, "normal", None)
               for i, (code, kind) in enumerate([(f"fund:{a}", "fund") for a in REGIONS]
                                                + [("cash", "cash")])]
    # A database in use has the year's fund accumulators of the people who settle (here at
    # nothing used yet), so the load runs against tables of their working size, as the
    # server plans them, not against an accumulator table that starts empty.
    year = local_date(datetime.now(UTC)).year  # the service's year: Beijing's
    accumulators = [(person_id, year, "hospital", 0, 0) for person_id in rows.patient_ids]
    tables = [("persons", rows.persons), ("accounts", system + rows.accounts),
              ("kinships", rows.kinships), ("bindings", rows.bindings),
              ("postings", rows.postings), ("journal_txns", rows.txns),
              ("fund_accumulators", accumulators)]
    if engine.dialect.name == "postgresql":
        _copy_pg(engine, tables)
    else:
        _insert_sqlite(engine, tables)
    ctx = Context(engine, clock=lambda: LOADED_AT)
    for admdvs in REGIONS:
        codes = []
        for n in range(1, HOSPITALS_PER_REGION + 1):
            code = f"H{admdvs}{n:02d}"
            reference.create_institution(ctx, {"fixmedins_code": code,
                                               "fixmedins_name": f"定点医院{admdvs}-{n:02d}",
                                               "fixmedins_type": "hospital", "admdvs": admdvs})
            codes.append(code)
        world.hospitals[admdvs] = codes
    return world


def _copy_pg(engine: Engine, tables: list[tuple[str, list[tuple]]]) -> None:
    raw = engine.raw_connection()
    try:
        with raw.driver_connection.cursor() as cur:
            for table, data in tables:
                with cur.copy(f"COPY {table} ({_COLUMNS[table]}) FROM STDIN") as copy:
                    for row in data:
                        copy.write_row(_naive(row))
            for table in ("persons", "accounts", "bindings"):
                cur.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                            f" (SELECT max(id) FROM {table}))")
            cur.execute("SELECT setval('journal_txn_ids', (SELECT max(id) FROM journal_txns))")
        raw.commit()
        with raw.driver_connection.cursor() as cur:
            raw.driver_connection.autocommit = True
            cur.execute("VACUUM ANALYZE")
    finally:
        raw.close()


def _insert_sqlite(engine: Engine, tables: list[tuple[str, list[tuple]]]) -> None:
    with engine.begin() as conn:
        for table, data in tables:
            columns = _COLUMNS[table]
            marks = ", ".join("?" * len(columns.split(",")))
            conn.exec_driver_sql(f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                                 [_sqlite_row(r) for r in data])
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")
