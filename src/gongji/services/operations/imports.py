"""Bulk imports of persons, kinships, institutions and monthly credits (个人账户划入).

Every row is checked on its own; a bad row goes to the rejects file with its line
number, a reason code and the Chinese message, while the good rows go in. Running the
same file again changes nothing: persons are keyed by ID number, kinships by pair,
institutions by code, credits by their reference.

Two paths share the row checks below and the verdicts of import_rules.py:
- PostgreSQL: batches are COPYed into a staging table and applied set-based
  (services/bulk.py), credits as one journal transaction per batch;
- otherwise each row goes through the same services the REST API uses.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

from sqlalchemy import Row, select, update

from gongji.domain.codes import (
    CARD_NO,
    FIXMEDINS_CODE,
    InstitutionType,
    InsuStatus,
    InsuType,
    values,
)
from gongji.domain.errors import DomainError, refuse
from gongji.domain.idcard import validate_certno
from gongji.domain.kinship import Relation, inverse, parse_relation
from gongji.domain.money import to_fen
from gongji.domain.policy_files import check_region
from gongji.domain.text import check_name, check_printable
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.operations import bulk
from gongji.services.operations.catalogue_import import (
    CATALOGUE_COLUMNS,
    apply_catalogue,
    catalogue_keys,
    parse_catalogue_row,
)
from gongji.services.operations.import_rules import (
    OUTCOME,
    credit_verdict,
    end_bindings_if_policy,
    institution_verdict,
    kinship_verdict,
    person_verdict,
)
from gongji.services.operations.tabular import (
    Column,
    ImportFileError,
    RejectsFile,
    Table,
    open_table,
)
from gongji.services.registry import reference
from gongji.store import repo
from gongji.store.schema import credits, institutions, persons

KINDS = ("persons", "kinships", "institutions", "credits", "catalogue")
DEFAULT_BATCH = 20_000
BULK_WORKERS = 2
_HOSPITAL, _PHARMACY = InstitutionType.HOSPITAL, InstitutionType.PHARMACY
_INSTITUTION_TYPES = {"hospital": _HOSPITAL, "医院": _HOSPITAL, "定点医院": _HOSPITAL,
                      "定点医疗机构": _HOSPITAL, "pharmacy": _PHARMACY, "药店": _PHARMACY,
                      "零售药店": _PHARMACY, "定点零售药店": _PHARMACY}


# --- rows ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRow:
    certno: str
    psn_name: str
    insutype: str
    admdvs: str
    stas: str
    card_no: str | None


@dataclass(frozen=True)
class KinshipRow:
    certno: str
    relative_certno: str
    relation: Relation  # what the relative is to the person

    @property
    def inverse(self) -> Relation:
        return inverse(self.relation)


@dataclass(frozen=True)
class InstitutionRow:
    code: str
    name: str
    kind: str
    admdvs: str


@dataclass(frozen=True)
class CreditRow:
    psn_no: str | None
    certno: str | None
    amount_fen: int
    ref: str


Get = Callable[[str], str]


def _required(get: Get, column: Column) -> str:
    value = get(column.field)
    if not value:
        raise refuse("INVALID_INPUT", f"缺少{column.label}")
    return value


PERSON_COLUMNS = (
    Column("certno", "公民身份号码", ("身份证号码", "身份证号", "证件号码")),
    Column("psn_name", "姓名", ("人员姓名",)),
    Column("insutype", "险种类型", ("险种",)),
    Column("insuplc_admdvs", "参保地医保区划", ("参保地", "统筹区", "医保区划")),
    Column("psn_insu_stas", "参保状态", required=False),
    Column("card_no", "社保卡号", ("社会保障卡号",), required=False),
)


def parse_person(get: Get, today: date) -> PersonRow:
    c = {col.field: col for col in PERSON_COLUMNS}
    certno = validate_certno(_required(get, c["certno"]), today)
    name = check_name(_required(get, c["psn_name"]))
    insutype = _required(get, c["insutype"])
    if insutype not in values(InsuType):
        raise refuse("INVALID_INPUT", "险种类型须为 310（职工）或 390（城乡居民）")
    admdvs = check_region(_required(get, c["insuplc_admdvs"]))
    stas = get("psn_insu_stas") or InsuStatus.INSURED
    if stas not in values(InsuStatus):
        raise refuse("INVALID_INPUT", "参保状态须为 1（参保）或 2（暂停）")
    card_no = get("card_no") or None
    if card_no is not None and not CARD_NO.fullmatch(card_no):
        raise refuse("INVALID_INPUT", "社保卡号须为 1–32 位字母或数字")
    return PersonRow(certno, name, insutype, admdvs, stas, card_no)


KINSHIP_COLUMNS = (
    Column("certno", "公民身份号码", ("身份证号码", "本人公民身份号码", "本人身份证号码")),
    Column("relative_certno", "亲属公民身份号码", ("亲属身份证号码",)),
    Column("relation", "亲属关系", ("关系",)),
)


def parse_kinship(get: Get, today: date) -> KinshipRow:
    c = {col.field: col for col in KINSHIP_COLUMNS}
    certno = validate_certno(_required(get, c["certno"]), today)
    relative = validate_certno(_required(get, c["relative_certno"]), today)
    relation = parse_relation(_required(get, c["relation"]))
    if certno == relative:
        raise refuse("SELF_BINDING", "亲属关系不能指向本人")
    return KinshipRow(certno, relative, relation)


INSTITUTION_COLUMNS = (
    Column("fixmedins_code", "定点医药机构编码", ("机构编码",)),
    Column("fixmedins_name", "定点医药机构名称", ("机构名称",)),
    Column("fixmedins_type", "机构类型", ("定点医药机构类型",)),
    Column("admdvs", "医保区划", ("所在医保区划", "统筹区")),
)


def parse_institution(get: Get, today: date) -> InstitutionRow:  # noqa: ARG001
    c = {col.field: col for col in INSTITUTION_COLUMNS}
    code = _required(get, c["fixmedins_code"])
    if not FIXMEDINS_CODE.fullmatch(code):
        raise refuse("INVALID_INPUT", "定点医药机构编码须为 1–30 位字母或数字")
    name = check_name(_required(get, c["fixmedins_name"]), "机构名称", 200)
    kind = _INSTITUTION_TYPES.get(_required(get, c["fixmedins_type"]).lower())
    if kind is None:
        raise refuse("INVALID_INPUT", "机构类型须为 hospital（医院）或 pharmacy（零售药店）")
    admdvs = check_region(_required(get, c["admdvs"]))  # as the REST call does
    return InstitutionRow(code, name, kind, admdvs)


CREDIT_COLUMNS = (
    Column("psn_no", "人员编号", required=False),
    Column("certno", "公民身份号码", ("身份证号码",), required=False),
    Column("amount", "划入金额", ("金额",)),
    Column("ref", "划入流水号", ("流水号",)),
)


_PLAIN_YUAN = re.compile(r"(\d{1,8})(?:\.(\d{1,2}))?")


def _yuan_fen(text: str) -> int:
    """to_fen, with a shortcut for the plain amounts a million-row file is made of."""
    plain = _PLAIN_YUAN.fullmatch(text)
    if plain is None:
        return to_fen(text)  # everything else, and the exact reason it is refused
    return int(plain[1]) * 100 + int((plain[2] or "0").ljust(2, "0"))


def parse_credit(get: Get, today: date) -> CreditRow:
    psn_no = get("psn_no") or None
    if psn_no is not None and len(psn_no) > 30:
        raise refuse("INVALID_INPUT", "人员编号过长")
    certno = validate_certno(get("certno"), today) if get("certno") else None
    if psn_no is None and certno is None:
        raise refuse("INVALID_INPUT", "缺少人员编号或公民身份号码")
    text = get("amount")
    if not text:
        raise refuse("INVALID_AMOUNT", "缺少划入金额")
    amount_fen = _yuan_fen(text)
    if amount_fen <= 0:
        raise refuse("INVALID_AMOUNT", "划入金额须大于 0")
    ref = get("ref")
    if not ref or len(ref) > 64:
        raise refuse("INVALID_INPUT", "划入流水号须为 1–64 个字符")
    check_printable(ref, "划入流水号")
    return CreditRow(psn_no, certno, amount_fen, ref)


# --- one row at a time (SQLite, and any database when asked) --------------------------------


def _person_one(ctx: Context, row: PersonRow, now: datetime) -> str:
    with ctx.read() as uow:
        existing = repo.person_by_certno(uow.conn, row.certno)
        holder = repo.person_by_card(uow.conn, row.card_no) if row.card_no else None
    verdict = person_verdict(existing, holder.id if holder else None, row)
    if verdict == "insert":
        reference.create_person(ctx, {"certno": row.certno, "psn_name": row.psn_name,
                                      "insutype": row.insutype, "insuplc_admdvs": row.admdvs,
                                      "psn_insu_stas": row.stas, "card_no": row.card_no})
    elif verdict == "update":
        with ctx.uow() as uow:
            uow.conn.execute(update(persons).where(persons.c.id == existing.id).values(
                psn_insu_stas=row.stas, insuplc_admdvs=row.admdvs,
                card_no=row.card_no or existing.card_no, updated_at=now))
            end_bindings_if_policy(uow.conn, existing.id, existing, row.stas, row.admdvs, now)
            uow.commit()
    return OUTCOME[verdict]


def _kinship_one(ctx: Context, row: KinshipRow, now: datetime) -> str:
    with ctx.read() as uow:
        person = repo.person_by_certno(uow.conn, row.certno)
        relative = repo.person_by_certno(uow.conn, row.relative_certno)
        registered = (repo.registered_relation(uow.conn, person.id, relative.id)
                      if person and relative else None)
    verdict = kinship_verdict(person and person.id, relative and relative.id, registered, row)
    if verdict == "unchanged":
        return "unchanged"
    reference.add_kinship(ctx, {"certno": row.certno, "relative_certno": row.relative_certno,
                                "relation": row.relation.value})
    return "inserted"


def _institution_one(ctx: Context, row: InstitutionRow, now: datetime) -> str:
    with ctx.read() as uow:
        existing = repo.institution_by_code(uow.conn, row.code)
    verdict = institution_verdict(existing, row)
    if verdict == "insert":
        reference.create_institution(ctx, {"fixmedins_code": row.code, "fixmedins_name": row.name,
                                           "fixmedins_type": row.kind, "admdvs": row.admdvs})
        return "inserted"
    if verdict == "update":
        with ctx.uow() as uow:
            uow.conn.execute(update(institutions).where(institutions.c.id == existing.id)
                             .values(fixmedins_name=row.name))
            uow.commit()
        return "updated"
    return "unchanged"


def _credit_one(ctx: Context, row: CreditRow, now: datetime) -> str:
    """Judged as the bulk path judges a row (credit_verdict), the ref looked up after the
    account lock, so a racing credit of the same ref has committed by then; then booked as
    the REST call books one."""
    with ctx.uow() as uow:
        person = _named_person(uow.conn, row)
        account_id = person.account_id if person else None
        repo.lock_accounts(uow.conn, [account_id] if account_id else [])
        earlier = uow.conn.execute(select(credits).where(credits.c.ref == row.ref)).first()
        verdict = credit_verdict(person and person.certno, account_id, earlier,
                                 person and person.id, row)
        if verdict == "insert":
            reference.credit_person(uow.conn, person, row.amount_fen, row.ref, now)
        uow.commit()
    return OUTCOME[verdict]


def _named_person(conn, row: CreditRow) -> Row | None:  # noqa: ANN001
    """The person a credit row names: by 人员编号, or else by 公民身份号码."""
    return (repo.person_by_psn_no(conn, row.psn_no) if row.psn_no
            else repo.person_by_certno(conn, row.certno))


# --- the run -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Kind:
    name: str
    label: str
    columns: tuple[Column, ...]
    parse: Callable[[Get, date], object]  # today (Asia/Shanghai): no birth date after it
    keys: Callable[[object], list[tuple[str, str]]]
    one: Callable[[Context, object, datetime], str] | None
    # A kind loaded set-based on every dialect (the catalogue) applies a whole batch.
    batch: Callable[[Context, list, datetime], tuple[dict[str, int], list]] | None = None


KIND = {
    "persons": Kind("persons", "参保人员", PERSON_COLUMNS, parse_person,
                    lambda r: [("公民身份号码", r.certno)]
                    + ([("社保卡号", r.card_no)] if r.card_no else []), _person_one),
    "kinships": Kind("kinships", "亲属关系", KINSHIP_COLUMNS, parse_kinship,
                     lambda r: [("这两人的亲属关系", "|".join(sorted((r.certno,
                                                                    r.relative_certno))))],
                     _kinship_one),
    "institutions": Kind("institutions", "定点医药机构", INSTITUTION_COLUMNS, parse_institution,
                         lambda r: [("定点医药机构编码", r.code)], _institution_one),
    "credits": Kind("credits", "个人账户划入", CREDIT_COLUMNS, parse_credit,
                    lambda r: [("划入流水号", r.ref)], _credit_one),
    "catalogue": Kind("catalogue", "医保目录", CATALOGUE_COLUMNS, parse_catalogue_row,
                      catalogue_keys, None, apply_catalogue),
}


@dataclass
class Summary:
    kind: str
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejects_path: Path | None = None
    bulk: bool = False
    batches: int = 0
    reasons: dict[str, int] = field(default_factory=dict)
    encoding: str | None = None  # a CSV's, as detected ("UTF-8", "GB18030"...); None: .xlsx

    def count(self, outcome: str, n: int = 1) -> None:
        setattr(self, outcome, getattr(self, outcome) + n)


def rejects_path_for(path: Path) -> Path:
    """Beside the file, named after it without its extension, always CSV (UTF-8 with BOM):
    persons.csv and persons.xlsx both → persons.rejects.csv."""
    return path.with_name(path.stem + ".rejects.csv")


def run_import(ctx: Context, kind: str, path: Path, *, rejects_path: Path | None = None,
               batch_size: int = DEFAULT_BATCH, bulk: bool | None = None,
               on_start: Callable[[int], None] | None = None,
               on_progress: Callable[[int], None] | None = None) -> Summary:
    """Import `path`; bad rows go to the rejects file (default rejects_path_for(path))."""
    spec = KIND[kind]
    table = open_table(path, spec.columns)
    if kind == "credits" and not {"psn_no", "certno"} & table.positions.keys():
        raise ImportFileError("缺少必需的列：人员编号 或 公民身份号码（至少一列）")
    use_bulk = ctx.engine.dialect.name == "postgresql" if bulk is None else bulk
    summary = Summary(kind, bulk=use_bulk, encoding=table.encoding)
    summary.rejects_path = rejects_path or rejects_path_for(path)
    if summary.rejects_path.resolve() == path.resolve():  # it would be emptied first
        raise ImportFileError("拒绝文件不能与导入文件相同")
    rejects = RejectsFile(summary.rejects_path, table.headers)
    if on_start:
        on_start(table.total)
    seen: dict[tuple[str, str], int] = {}
    today = local_date(ctx.now())
    # While the database applies batches (two at once on PostgreSQL: their accounts are
    # locked in id order, so they cannot deadlock), the next one is read and checked.
    # Outcomes and rejects are taken in file order.
    workers = BULK_WORKERS if use_bulk else 1
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="import") as pool:
        pending: deque = deque()
        try:
            for batch in _batches(table, batch_size):
                good, refused = _check_rows(spec, table, batch, seen, today)
                applying = pool.submit(_apply, ctx, spec, good, use_bulk) if good else None
                pending.append((batch, refused, applying))
                while len(pending) > workers:
                    _finish(*pending.popleft(), summary, rejects, on_progress)
            while pending:
                _finish(*pending.popleft(), summary, rejects, on_progress)
        finally:
            rejects.close()
    summary.rejected = rejects.count
    if not rejects.count:
        summary.rejects_path = None
    return summary


def _finish(batch: list, refused: Refused, applying: Future | None, summary: Summary,
            rejects: RejectsFile, on_progress: Callable[[int], None] | None) -> None:
    """Wait for a batch, count its outcomes and write its rejects in line order."""
    if applying is not None:
        outcomes, refused_by_db = applying.result()
        refused = refused + refused_by_db
        for outcome, n in outcomes.items():
            summary.count(outcome, n)
        summary.batches += 1
    cells_at = dict(batch)
    for line, error in sorted(refused, key=lambda item: item[0]):
        rejects.add(line, error.code, error.message, cells_at[line])
        summary.reasons[error.code] = summary.reasons.get(error.code, 0) + 1
    summary.rows += len(batch)
    if on_progress:
        on_progress(len(batch))


def _batches(table: Table, size: int) -> Iterator[list[tuple[int, list[str]]]]:
    batch: list[tuple[int, list[str]]] = []
    for item in table.rows():
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


Refused = list[tuple[int, DomainError]]


def _check_rows(spec: Kind, table: Table, batch: list, seen: dict,
                today: date) -> tuple[list[tuple[int, object]], Refused]:
    """Parse each row; a key seen on an earlier line of the file is a duplicate."""
    good, refused = [], []
    for line, cells in batch:
        try:
            row = spec.parse(table.getter(cells), today)
            keys = spec.keys(row)
            for label, value in keys:
                earlier = seen.get((label, value))
                if earlier is not None:
                    raise refuse("DUPLICATE_IN_FILE", f"{label}与第 {earlier} 行相同")
            for key in keys:
                seen[key] = line
        except DomainError as error:
            refused.append((line, error))
            continue
        good.append((line, row))
    return good, refused


def _apply(ctx: Context, spec: Kind, good: list[tuple[int, object]],
           use_bulk: bool) -> tuple[dict[str, int], Refused]:
    now = ctx.now()
    if spec.batch is not None:
        return spec.batch(ctx, good, now)
    if use_bulk:
        return bulk.apply(ctx, spec.name, good, now)
    outcomes: dict[str, int] = {}
    refused = []
    for line, row in good:
        try:
            outcome = spec.one(ctx, row, now)
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        except DomainError as error:
            refused.append((line, error))
    return outcomes, refused
