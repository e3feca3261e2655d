"""使用明细: a person's account entries, newest first, by period, with keyset pagination.

Postings carry what the query needs (kind, beneficiary, binding, institution,
settlement, balance after), so a page is one index range scan of
ix_postings_account_at (account_id, at, id) read backwards, followed by primary-key
lookups for the few rows shown.
"""

from __future__ import annotations

from collections.abc import Iterator

from sqlalchemy import Connection, Select, and_, func, or_, select

from gongji.domain.idcard import mask_certno, mask_name
from gongji.domain.money import to_yuan
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.services.reads.paging import (
    MAX_LIMIT,
    Cursor,
    Period,
    decode_cursor,
    encode_cursor,
    parse_limit,
    parse_period,
)
from gongji.services.reads.views import relation_to_you
from gongji.store import repo
from gongji.store.schema import bindings, institutions, persons, postings, settlements

# Chinese names of the entry kinds, for exports and pages.
KIND_ZH = {
    "credit": "个人账户划入",
    "credit_reversal": "划入冲正",
    "settlement": "结算支付",
    "reversal": "结算撤销退回",
    "premium": "代缴居民医保费",
    "premium_reversal": "代缴撤销退回",
}


def list_entries(ctx: Context, psn_no: str, date_from: object = None, date_to: object = None,
                 cursor: object = None, limit: object = None) -> dict:
    """One page of the person's own entries: {"entries": [...], "next_cursor"}.

    Dates are inclusive Asia/Shanghai days (`YYYY-MM-DD` or date objects); `cursor` is
    the `next_cursor` of the previous page; limit defaults to 50, at most 500."""
    period = parse_period(date_from, date_to)
    after = decode_cursor(cursor)
    size = parse_limit(limit)
    with ctx.read() as uow:
        account_id = _account_of(uow.conn, psn_no)
        if account_id is None:  # a resident (390) member has no account, so no entries
            return {"entries": [], "next_cursor": None}
        rows = uow.conn.execute(entries_statement(account_id, period, after, size + 1)).all()
    page = rows[:size]
    more = len(rows) > size
    return {"entries": [entry_view(row) for row in page],
            "next_cursor": encode_cursor(page[-1].at, page[-1].id) if more else None}


def iter_entries(ctx: Context, psn_no: str, date_from: object = None,
                 date_to: object = None) -> Iterator[dict]:
    """Every entry of the period, newest first, exactly as the pages list them."""
    cursor = None
    while True:
        page = list_entries(ctx, psn_no, date_from, date_to, cursor, MAX_LIMIT)
        yield from page["entries"]
        cursor = page["next_cursor"]
        if cursor is None:
            return


def count_entries(ctx: Context, psn_no: str, date_from: object = None,
                  date_to: object = None) -> int:
    period = parse_period(date_from, date_to)
    with ctx.read() as uow:
        account_id = _account_of(uow.conn, psn_no)
        if account_id is None:
            return 0
        inner = _page_ids(account_id, period, None, None).subquery()
        return uow.conn.execute(select(func.count()).select_from(inner)).scalar_one()


def _account_of(conn: Connection, psn_no: str) -> int | None:
    person = repo.known_person(conn, psn_no)
    return person.account_id


def _page_ids(account_id: int, period: Period, after: Cursor | None,
              limit: int | None) -> Select:
    """The page's postings alone: an index range scan, newest first."""
    p = postings.c
    conditions = [p.account_id == account_id]
    if period.start is not None:
        conditions.append(p.at >= period.start)
    if period.end is not None:
        conditions.append(p.at < period.end)
    if after is not None:
        # (at, id) < (cursor.at, cursor.id), spelled so every database can use the index.
        conditions.append(p.at <= after.at)
        conditions.append(or_(p.at < after.at, and_(p.at == after.at, p.id < after.row_id)))
    query = select(p.id, p.at).where(*conditions).order_by(p.at.desc(), p.id.desc())
    return query.limit(limit) if limit is not None else query


def entries_statement(account_id: int, period: Period, after: Cursor | None,
                      limit: int) -> Select:
    """A page of entries with what they name; public so a test can EXPLAIN it."""
    page = _page_ids(account_id, period, after, limit).subquery("page")
    beneficiary = persons.alias("beneficiary")
    p = postings.c
    return (
        select(p.id, p.at, p.kind, p.amount_fen, p.balance_after_fen, p.binding_id,
               p.premium_id, p.counterpart_id, beneficiary.c.certno, beneficiary.c.psn_name,
               bindings.c.relation, institutions.c.fixmedins_code,
               institutions.c.fixmedins_name, settlements.c.setl_id,
               settlements.c.fund_scene)
        .select_from(
            page.join(postings, p.id == page.c.id)
            .outerjoin(beneficiary, beneficiary.c.id == p.counterpart_id)
            .outerjoin(bindings, bindings.c.id == p.binding_id)
            .outerjoin(institutions, institutions.c.id == p.institution_id)
            .outerjoin(settlements, settlements.c.id == p.settlement_id))
        .order_by(page.c.at.desc(), page.c.id.desc())
    )


def entry_view(row) -> dict:  # noqa: ANN001  (a Row of entries_statement)
    """An entry as its owner sees it: amounts signed, the relative masked."""
    return {
        "entry_id": row.id,
        "time": iso(row.at),
        "kind": row.kind,
        "amount": to_yuan(row.amount_fen),
        "balance_after": None if row.balance_after_fen is None else to_yuan(row.balance_after_fen),
        "beneficiary_certno": mask_certno(row.certno) if row.certno else None,
        "beneficiary_name": mask_name(row.psn_name) if row.psn_name else None,
        "relation": row.relation,
        "relation_to_you": relation_to_you(row.relation, True, row.certno),
        "binding_id": row.binding_id,
        "fixmedins_code": row.fixmedins_code,
        "fixmedins_name": row.fixmedins_name,
        "setl_id": row.setl_id,
        "fund_scene": row.fund_scene,  # hospital (门诊), pharmacy, inpatient (住院); None
        "premium_id": row.premium_id,
    }
