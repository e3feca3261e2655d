"""Reconciliation for institutions: totals (3201 对总账) over settlements not reversed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, func, select

from gongji.domain.errors import refuse
from gongji.domain.money import to_fen, to_yuan
from gongji.store import repo
from gongji.store.schema import settlements

MAX_RANGE_DAYS = 366
TOTAL_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay")


@dataclass(frozen=True)
class TotalsQuery:
    begin: date
    end: date
    claimed_fen: dict[str, int]  # the institution's own totals, by national field name
    claimed_count: int


def parse_date(value: object, name: str) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        pass
    raise refuse("INVALID_INPUT", f"{name} 须为 YYYY-MM-DD")


def parse_range(begin_value: object, end_value: object) -> tuple[date, date]:
    begin = parse_date(begin_value, "stmt_begndate")
    end = parse_date(end_value, "stmt_enddate")
    if begin is None or end is None:
        raise refuse("INVALID_INPUT", "对账日期须为 YYYY-MM-DD")
    if end < begin or (end - begin).days >= MAX_RANGE_DAYS:
        raise refuse("INVALID_INPUT", f"对账区间须为 1–{MAX_RANGE_DAYS} 天")
    return begin, end


def parse_totals_query(data: dict) -> TotalsQuery:
    begin, end = parse_range(data.get("stmt_begndate"), data.get("stmt_enddate"))
    count = data.get("fixmedins_setl_cnt")
    if isinstance(count, str) and count.isdigit():
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= 10**9:
        raise refuse("INVALID_INPUT", "fixmedins_setl_cnt 须为非负整数")
    claimed = {name: to_fen(data.get(name)) for name in TOTAL_FIELDS}
    return TotalsQuery(begin, end, claimed, count)


def system_totals(conn: Connection, institution_id: int, begin: date, end: date) -> dict[str, int]:
    """The system's own totals in fen, settlements dated in the range and not reversed."""
    c = settlements.c
    row = conn.execute(select(
        func.coalesce(func.sum(c.medfee_sumamt_fen), 0),
        func.coalesce(func.sum(c.fund_pay_sumamt_fen), 0),
        func.coalesce(func.sum(c.acct_pay_fen), 0),
        func.coalesce(func.sum(c.acct_mulaid_pay_fen), 0),
        func.coalesce(func.sum(c.psn_cash_pay_fen), 0),
        func.count(),
    ).where(c.institution_id == institution_id, c.setl_date >= begin, c.setl_date <= end,
            c.reversed_at.is_(None))).one()
    return dict(zip((*TOTAL_FIELDS, "psn_cash_pay", "count"), (int(v) for v in row),
                    strict=True))


def totals(conn: Connection, inst_code: str, query: TotalsQuery) -> dict:
    """3201: "0" when every total and the count agree, "1" otherwise, with ours beside."""
    inst = repo.institution_by_code(conn, inst_code)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    ours = system_totals(conn, inst.id, query.begin, query.end)
    agrees = (all(ours[name] == query.claimed_fen[name] for name in TOTAL_FIELDS)
              and ours["count"] == query.claimed_count)
    return {"stmt_rslt": "0" if agrees else "1",
            "stmt_rslt_dscr": "对账一致" if agrees else "对账不一致",
            "stmt_begndate": query.begin.isoformat(), "stmt_enddate": query.end.isoformat(),
            **{name: to_yuan(ours[name]) for name in (*TOTAL_FIELDS, "psn_cash_pay")},
            "fixmedins_setl_cnt": ours["count"]}
