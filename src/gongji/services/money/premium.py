"""代缴居民医保费: a helper pays a bound relative's resident-insurance contribution.

Once per beneficiary and year (whoever pays it), at the beneficiary region's amount,
from the helper's personal account in full or not at all. The operator can reverse a
payment; the refund mirrors the original journal transaction leg by leg.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, Row, insert, select
from sqlalchemy.exc import IntegrityError

from gongji.domain.codes import AccountStatus, InsuStatus, InsuType
from gongji.domain.errors import refuse
from gongji.domain.idcard import mask_certno, mask_name, validate_certno
from gongji.domain.money import to_yuan, yuan_text
from gongji.services.binding.bindings import active_binding
from gongji.services.clock import iso, local_date
from gongji.services.context import Context
from gongji.services.idempotent import run_once
from gongji.services.money import notices
from gongji.services.policy.versions import policy_on
from gongji.store import quotas, repo
from gongji.store.journal import Leg, mark_reversed, mirror_legs, new_txn_id, post
from gongji.store.schema import bindings, persons, premiums
from gongji.store.uow import UnitOfWork


def parse_year(value: object) -> int:
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 2000 <= value <= 2100:
        raise refuse("INVALID_INPUT", "year 须为 2000–2100 的年份")
    return value


def pay(ctx: Context, psn_no: str, data: dict, idempotency_key: str | None = None) -> dict:
    """POST /premiums by the helper: {"beneficiary_certno", "year"} -> the payment."""
    now = ctx.now()
    certno = validate_certno(data.get("beneficiary_certno"), local_date(now))
    year = parse_year(data.get("year"))

    def command(uow: UnitOfWork) -> dict:
        return _pay(uow.conn, psn_no, certno, year, now)

    return run_once(ctx, f"person:{psn_no}", idempotency_key,
                    {"beneficiary_certno": certno, "year": year}, command)


def _pay(conn: Connection, psn_no: str, certno: str, year: int, now: datetime) -> dict:
    helper = repo.known_person(conn, psn_no)
    beneficiary, binding, amount_fen = _payable(conn, helper, certno, year, now)
    account = _payer_account(conn, helper, amount_fen)
    if binding.id not in repo.active_binding_ids(conn, [binding.id]):
        raise refuse("PREMIUM_NOT_BOUND")  # unbound while this waited for the account lock
    reserves = quotas.read(conn, [helper.id])  # under the account lock, which guards quotas
    _within_quota(reserves, binding.id, helper.id, account.balance_fen, amount_fen)
    txn_id = new_txn_id(conn)
    premium_id = _insert_premium(conn, helper, beneficiary, binding.id, year, amount_fen,
                                 txn_id, now)
    balance_after = account.balance_fen - amount_fen
    collection = repo.system_account(conn, f"premium:{beneficiary.insuplc_admdvs}", "premium")
    post(conn, txn_id, "premium", [
        Leg(helper.account_id, -amount_fen, balance_after, counterpart_id=beneficiary.id,
            binding_id=binding.id),
        Leg(collection, amount_fen, counterpart_id=beneficiary.id, binding_id=binding.id),
    ], now, ref=str(premium_id), premium_id=premium_id)
    quotas.draw(conn, [(binding.id, amount_fen)], reserves.remaining)
    if reserves.remaining.get(binding.id) == amount_fen:
        notices.for_quota_used_up(conn, helper.id, binding.relation, beneficiary, premium_id,
                                  now)
    notices.for_premium(conn, helper.id, binding.relation, beneficiary, year,
                        amount_fen, premium_id, now)
    return {"premium_id": premium_id, "amount": to_yuan(amount_fen),
            "balance": to_yuan(balance_after), "year": year, "binding_id": binding.id,
            "beneficiary_certno": mask_certno(beneficiary.certno),
            "beneficiary_name": mask_name(beneficiary.psn_name), "paid_at": iso(now)}


def _payable(conn: Connection, helper: Row, certno: str, year: int,
             now: datetime) -> tuple[Row, Row, int]:
    """The bound resident relative, the binding and the year's amount, or the refusal."""
    beneficiary = repo.person_by_certno(conn, certno)
    # An unknown ID number reads as "not bound": whether someone exists is not revealed.
    binding = active_binding(conn, helper.id, beneficiary.id) if beneficiary else None
    if binding is None:
        raise refuse("PREMIUM_NOT_BOUND")
    if beneficiary.insutype != InsuType.RESIDENT:
        raise refuse("PREMIUM_NOT_RESIDENT")
    # the amount of the version in force on the day of payment (Asia/Shanghai)
    amount_fen = policy_on(conn, beneficiary.insuplc_admdvs, local_date(now)).premium_fen(year)
    if amount_fen is None:
        raise refuse("PREMIUM_YEAR_CLOSED", str(year))
    if _paid(conn, beneficiary.id, year):
        raise refuse("PREMIUM_ALREADY_PAID")
    return beneficiary, binding, amount_fen


def _payer_account(conn: Connection, helper: Row, amount_fen: int) -> Row:
    """The helper's account row, locked, if it may pay the whole amount now."""
    if helper.account_id is None:
        raise refuse("NO_ACCOUNT")
    if helper.psn_insu_stas != InsuStatus.INSURED:
        raise refuse("HELPER_NOT_ELIGIBLE", "参保状态暂停")
    account = repo.lock_accounts(conn, [helper.account_id])[helper.account_id]
    if account.status != AccountStatus.NORMAL:
        raise refuse("ACCOUNT_FROZEN")
    if account.balance_fen < amount_fen:
        raise refuse("INSUFFICIENT_BALANCE", f"需 {yuan_text(amount_fen)} 元")
    return account


def _within_quota(reserves: quotas.Reserves, binding_id: int, helper_id: int,
                  balance_fen: int, amount_fen: int) -> None:
    """共济额度: a binding with a quota pays at most what remains of it; one without never
    takes money the helper's quotas reserve for other relatives. In full or not at all."""
    cap_fen = reserves.binding_cap(binding_id, helper_id, balance_fen)
    if amount_fen <= cap_fen:
        return
    need = f"需 {yuan_text(amount_fen)} 元"
    if binding_id in reserves.remaining:
        raise refuse("QUOTA_INSUFFICIENT", f"剩余 {yuan_text(cap_fen)} 元，{need}")
    raise refuse("INSUFFICIENT_BALANCE",
                 f"未被共济额度预留的余额 {yuan_text(cap_fen)} 元，{need}")


def _paid(conn: Connection, beneficiary_id: int, year: int) -> bool:
    return conn.execute(select(premiums.c.id).where(
        premiums.c.beneficiary_id == beneficiary_id, premiums.c.year == year,
        premiums.c.reversed_at.is_(None))).first() is not None


def _insert_premium(conn: Connection, helper: Row, beneficiary: Row, binding_id: int,
                    year: int, amount_fen: int, txn_id: int, now: datetime) -> int:
    """The partial unique index (beneficiary, year) settles a race the check above lost."""
    try:
        return conn.execute(insert(premiums).values(
            helper_id=helper.id, beneficiary_id=beneficiary.id, binding_id=binding_id,
            year=year, amount_fen=amount_fen, txn_id=txn_id, created_at=now,
        ).returning(premiums.c.id)).scalar_one()
    except IntegrityError:  # the unit of work rolls back as the refusal leaves it
        raise refuse("PREMIUM_ALREADY_PAID") from None


def reverse(ctx: Context, premium_id: int, idempotency_key: str | None = None) -> dict:
    """POST /premiums/{id}/reverse by the operator: refund once, even after an unbinding."""
    now = ctx.now()

    def command(uow: UnitOfWork) -> dict:
        return _reverse(uow.conn, premium_id, now)

    return run_once(ctx, "operator:operator", idempotency_key,
                    {"reverse_premium": premium_id}, command)


def _reverse(conn: Connection, premium_id: int, now: datetime) -> dict:
    premium = conn.execute(select(premiums).where(premiums.c.id == premium_id)).first()
    if premium is None:
        raise refuse("PREMIUM_NOT_FOUND")
    txn_id = new_txn_id(conn)
    if not mark_reversed(conn, premiums.c.id, premium.id, txn_id, now):
        raise refuse("PREMIUM_ALREADY_REVERSED")
    helper = repo.person_by_id(conn, premium.helper_id)
    legs = mirror_legs(conn, premium.txn_id)  # the accounts that paid, even after a move
    post(conn, txn_id, "premium_reversal", legs, now, ref=str(premium.id),
         premium_id=premium.id)
    quotas.give_back(conn, legs)  # what the premium drew from a quota, back into it
    beneficiary = repo.person_by_id(conn, premium.beneficiary_id)
    relation = _binding_relation(conn, premium.binding_id)
    notices.for_premium_reversal(conn, helper.id, relation, beneficiary, premium.year,
                                 premium.amount_fen, premium.id, now)
    balance = next(leg.balance_after_fen for leg in legs if leg.account_id == helper.account_id)
    return {"premium_id": premium.id, "reversed": True, "amount": to_yuan(premium.amount_fen),
            "year": premium.year, "helper_psn_no": helper.psn_no, "balance": to_yuan(balance),
            "reversed_at": iso(now)}


def _binding_relation(conn: Connection, binding_id: int) -> str:
    return conn.execute(select(bindings.c.relation).where(bindings.c.id == binding_id)
                        ).scalar_one()


def list_premiums(ctx: Context, psn_no: str) -> dict:
    """Premiums the person paid for relatives, and premiums paid for them (counterparts masked)."""
    with ctx.read() as uow:
        conn = uow.conn
        person = repo.known_person(conn, psn_no)
        return {"paid": _side(conn, premiums.c.helper_id, premiums.c.beneficiary_id, person.id),
                "received": _side(conn, premiums.c.beneficiary_id, premiums.c.helper_id,
                                  person.id)}


def _side(conn: Connection, own_col, other_col, person_id: int) -> list[dict]:  # noqa: ANN001
    rows = conn.execute(
        select(premiums, persons.c.certno, persons.c.psn_name)
        .join(persons, persons.c.id == other_col)
        .where(own_col == person_id).order_by(premiums.c.year.desc(), premiums.c.id.desc())
    ).all()
    return [{"premium_id": r.id, "year": r.year, "amount": to_yuan(r.amount_fen),
             "binding_id": r.binding_id, "counterpart_certno": mask_certno(r.certno),
             "counterpart_name": mask_name(r.psn_name), "paid_at": iso(r.created_at),
             "reversed": r.reversed_at is not None, "reversed_at": iso(r.reversed_at)}
            for r in rows]
