"""Operator reference data: persons, kinships, institutions, account credits."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import Connection, Row, insert, select, update
from sqlalchemy.exc import IntegrityError

from gongji.domain.codes import (
    CARD_NO,
    FIXMEDINS_CODE,
    STORED_ACCOUNT_STATUSES,
    InstitutionType,
    InsuStatus,
    InsuType,
    values,
)
from gongji.domain.eligibility import insurance_ended_or_moved
from gongji.domain.errors import refuse
from gongji.domain.idcard import validate_certno
from gongji.domain.kinship import inverse, parse_relation
from gongji.domain.money import to_fen, to_yuan
from gongji.domain.policy_files import check_region
from gongji.domain.text import check_name, check_printable
from gongji.services.binding.actor import Actor
from gongji.services.binding.unbinding import end_for_insurance_change
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.idempotent import run_once
from gongji.services.policy.versions import policy_on
from gongji.services.reads.views import person_view
from gongji.store import repo
from gongji.store.journal import Leg, new_txn_id, post_batch
from gongji.store.schema import accounts, credits, institutions, kinships, persons, postings
from gongji.store.uow import UnitOfWork

INSUTYPES = values(InsuType)
INSU_STATUSES = values(InsuStatus)
INSTITUTION_TYPES = values(InstitutionType)


def new_psn_no(admdvs: str) -> str:
    """Region + 18 random digits: at ten million persons a collision has odds near 1e-4."""
    return f"{admdvs}{secrets.randbelow(10**18):018d}"


def create_person(ctx: Context, data: dict) -> dict:
    now = ctx.now()
    certno = validate_certno(data["certno"], local_date(now))
    name = check_name(data["psn_name"])
    insutype = data["insutype"]
    if insutype not in INSUTYPES:
        raise refuse("INVALID_INPUT", "insutype 须为 310 或 390")
    admdvs = check_region(data["insuplc_admdvs"])
    stas = data.get("psn_insu_stas", InsuStatus.INSURED.value)
    if stas not in INSU_STATUSES:
        raise refuse("INVALID_INPUT", "psn_insu_stas 须为 1 或 2")
    card_no = data.get("card_no")
    if card_no is not None and (not isinstance(card_no, str) or not CARD_NO.fullmatch(card_no)):
        raise refuse("INVALID_INPUT", "社保卡号须为 1–32 位字母或数字")
    with ctx.uow() as uow:
        conn = uow.conn
        if repo.person_by_certno(conn, certno) is not None:
            raise refuse("PERSON_EXISTS")
        if card_no is not None and repo.person_by_card(conn, card_no) is not None:
            raise refuse("CARD_IN_USE")
        psn_no = new_psn_no(admdvs)
        person_id = conn.execute(insert(persons).values(
            psn_no=psn_no, certno=certno, psn_name=name, insutype=insutype,
            insuplc_admdvs=admdvs, psn_insu_stas=stas, card_no=card_no,
            created_at=now, updated_at=now,
        ).returning(persons.c.id)).scalar_one()
        if insutype == InsuType.EMPLOYEE:
            conn.execute(insert(accounts).values(
                code=f"psn:{psn_no}", kind="personal", person_id=person_id, balance_fen=0))
        row = repo.person_by_id(conn, person_id)
        _commit_unique(uow, "PERSON_EXISTS")
        return person_view(row)


def _commit_unique(uow: UnitOfWork, code: str) -> None:
    """Commit; a unique violation from a concurrent twin becomes the coded conflict."""
    try:
        uow.commit()
    except IntegrityError:
        raise refuse(code) from None


def get_person(ctx: Context, psn_no: str) -> dict:
    with ctx.read() as uow:
        row = repo.known_person(uow.conn, psn_no)
        return person_view(row)


def patch_person(ctx: Context, psn_no: str, changes: dict) -> dict:
    """Status, region and account freezing. Bindings are kept (settlement skips the helper
    while suspended or frozen), unless the person's region has switched on the rule that
    ends them when insurance ends or moves (policy auto_end_on_insurance_change)."""
    with ctx.uow() as uow:
        conn = uow.conn
        row = repo.known_person(conn, psn_no)
        values: dict = {}
        if "psn_insu_stas" in changes:
            if changes["psn_insu_stas"] not in INSU_STATUSES:
                raise refuse("INVALID_INPUT", "psn_insu_stas 须为 1 或 2")
            values["psn_insu_stas"] = changes["psn_insu_stas"]
        if "insuplc_admdvs" in changes:
            values["insuplc_admdvs"] = check_region(changes["insuplc_admdvs"])
        if "account_status" in changes:
            status = changes["account_status"]
            if status not in STORED_ACCOUNT_STATUSES:
                raise refuse("INVALID_INPUT", "account_status 须为 normal 或 frozen")
            if row.account_id is None:
                raise refuse("NO_ACCOUNT")
            conn.execute(update(accounts).where(accounts.c.id == row.account_id)
                         .values(status=status))
        ended: list[int] | None = None
        if values:
            now = ctx.now()
            values["updated_at"] = now
            conn.execute(update(persons).where(persons.c.id == row.id).values(**values))
            if (insurance_ended_or_moved(row, values)
                    and policy_on(conn, row.insuplc_admdvs,
                                  local_date(now)).auto_end_on_insurance_change):
                ended = _end_bindings(conn, row.id, now)
        after = repo.person_by_id(conn, row.id)
        uow.commit()
        view = person_view(after)
        return view if ended is None else view | {"ended_binding_ids": ended}


def add_kinship(ctx: Context, data: dict) -> dict:
    """Record a verified kinship both ways; the same kinship again is a no-op."""
    relation = parse_relation(data["relation"])
    today = local_date(ctx.now())
    certno = validate_certno(data["certno"], today)
    relative_certno = validate_certno(data["relative_certno"], today)
    if certno == relative_certno:
        raise refuse("SELF_BINDING", "亲属关系不能指向本人")
    with ctx.uow() as uow:
        conn = uow.conn
        person = repo.person_by_certno(conn, certno)
        relative = repo.person_by_certno(conn, relative_certno)
        if person is None or relative is None:
            raise refuse("PERSON_NOT_FOUND")
        existing = repo.registered_relation(conn, person.id, relative.id)
        if existing is not None and existing != relation:
            raise refuse("KINSHIP_CONFLICT")
        if existing is None:
            now = ctx.now()
            conn.execute(insert(kinships), [
                {"person_id": person.id, "relative_id": relative.id, "relation": relation,
                 "created_at": now},
                {"person_id": relative.id, "relative_id": person.id,
                 "relation": inverse(relation), "created_at": now},
            ])
        _commit_unique(uow, "KINSHIP_CONFLICT")
        return {"certno": certno, "relative_certno": relative_certno, "relation": relation.value}


def create_institution(ctx: Context, data: dict) -> dict:
    code = data["fixmedins_code"]
    if not isinstance(code, str) or not FIXMEDINS_CODE.fullmatch(code):
        raise refuse("INVALID_INPUT", "定点医药机构编码须为 1–30 位字母或数字")
    name = check_name(data["fixmedins_name"], "机构名称", 200)
    kind = data["fixmedins_type"]
    if kind not in INSTITUTION_TYPES:
        raise refuse("INVALID_INPUT", "fixmedins_type 须为 hospital 或 pharmacy")
    admdvs = check_region(data["admdvs"])  # as for persons: a region with a policy
    with ctx.uow() as uow:
        conn = uow.conn
        if repo.institution_by_code(conn, code) is not None:
            raise refuse("INSTITUTION_EXISTS")
        account_id = conn.execute(insert(accounts).values(
            code=f"inst:{code}", kind="institution").returning(accounts.c.id)).scalar_one()
        conn.execute(insert(institutions).values(
            fixmedins_code=code, fixmedins_name=name, fixmedins_type=kind,
            admdvs=admdvs, account_id=account_id, created_at=ctx.now()))
        _commit_unique(uow, "INSTITUTION_EXISTS")
    return {"fixmedins_code": code, "fixmedins_name": name, "fixmedins_type": kind,
            "admdvs": admdvs}


def credit_account(ctx: Context, psn_no: str, data: dict) -> dict:
    """个人账户划入: exactly once per `ref`, whatever the caller."""
    amount_fen = to_fen(data.get("amount"))
    if amount_fen <= 0:
        raise refuse("INVALID_AMOUNT", "划入金额须大于 0")
    ref = data.get("ref")
    if not isinstance(ref, str) or not ref.strip() or len(ref) > 64:
        raise refuse("INVALID_INPUT", "ref 须为 1–64 个字符")
    check_printable(ref, "ref")
    payload = {"psn_no": psn_no, "amount_fen": amount_fen}

    def command(uow: UnitOfWork) -> dict:
        return _credit(uow.conn, ctx, psn_no, amount_fen, ref)

    return run_once(ctx, "credit", ref, payload, command)


def _credit(conn: Connection, ctx: Context, psn_no: str, amount_fen: int, ref: str) -> dict:
    person = repo.known_person(conn, psn_no)
    return credit_person(conn, person, amount_fen, ref, ctx.now())[0]


def credit_person(conn: Connection, person: Row, amount_fen: int, ref: str,
                  now: datetime) -> tuple[dict, bool]:
    """Credit a person's account once per `ref`: (answer, whether money moved now).

    The ref is looked up after the account lock, so a racing credit of the same account
    and ref has committed (and is seen) by then."""
    if person.account_id is None:
        raise refuse("NO_ACCOUNT")
    locked = repo.lock_accounts(conn, [person.account_id])[person.account_id]
    earlier = conn.execute(select(credits).where(credits.c.ref == ref)).first()
    if earlier is not None:  # credited before, maybe by a bulk import: the same answer again
        if (earlier.person_id, earlier.amount_fen) != (person.id, amount_fen):
            raise refuse("CREDIT_REF_CONFLICT")
        return credit_answer(conn, earlier, person.psn_no), False
    source = repo.system_account(conn, f"contrib:{person.insuplc_admdvs}", "contribution")
    balance_after = locked.balance_fen + amount_fen
    txn_id = new_txn_id(conn)
    # The batch form, as a bulk import's credits post: one door for every credit.
    post_batch(conn, txn_id, "credit", [
        Leg(source, -amount_fen),
        Leg(person.account_id, amount_fen, balance_after),
    ], now, ref=ref)
    conn.execute(insert(credits).values(ref=ref, person_id=person.id,
                                        account_id=person.account_id, amount_fen=amount_fen,
                                        source_account_id=source, txn_id=txn_id,
                                        created_at=now))
    return {"psn_no": person.psn_no, "amount": to_yuan(amount_fen), "ref": ref,
            "balance": to_yuan(balance_after), "txn_id": txn_id}, True


def credit_answer(conn: Connection, credit: Row, psn_no: str) -> dict:
    """What crediting `credit` answered: the balance right after its posting."""
    balance_after = conn.execute(
        select(postings.c.balance_after_fen).where(
            postings.c.txn_id == credit.txn_id, postings.c.account_id == credit.account_id,
            postings.c.amount_fen == credit.amount_fen).order_by(postings.c.id).limit(1)
    ).scalar_one()
    return {"psn_no": psn_no, "amount": to_yuan(credit.amount_fen), "ref": credit.ref,
            "balance": to_yuan(balance_after), "txn_id": credit.txn_id}


def _end_bindings(conn: Connection, person_id: int, now: datetime) -> list[int]:
    return end_for_insurance_change(conn, person_id, Actor("operator", "operator"), now)
