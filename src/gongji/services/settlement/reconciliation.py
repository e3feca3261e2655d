"""Reconciliation for institutions: totals (3201 对总账) over settlements not reversed,
day totals and per-settlement detail (REST), and the detail comparison (3202 对明细)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Connection, Row, and_, case, func, or_, select

from gongji.domain.codes import StmtResult
from gongji.domain.errors import refuse
from gongji.domain.idcard import mask_certno, mask_name
from gongji.domain.money import MAX_TOTAL_FEN, to_fen, to_yuan
from gongji.services.clock import iso
from gongji.services.context import Context
from gongji.services.reads.paging import decode_cursor, encode_cursor, parse_limit
from gongji.services.reads.views import settlement_amounts
from gongji.store import repo
from gongji.store.schema import persons, settlements

MAX_RANGE_DAYS = 366
TOTAL_FIELDS = ("medfee_sumamt", "fund_pay_sumamt", "acct_pay", "acct_mulaid_pay")
MAX_COUNT = 10**9  # settlements of one institution in a period (at most MAX_RANGE_DAYS)


# 清算类别 (clr_type) → the settlement codes it covers: 11 门诊 (outpatient, 2207), 21 住院
# (inpatient, 2304), 41 药店购药 (pharmacy, 2102).
CLR_TYPES = {"11": ("2207",), "21": ("2304",), "41": ("2102",)}


@dataclass(frozen=True)
class TotalsQuery:
    begin: date
    end: date
    claimed_fen: dict[str, int]  # the institution's own totals, by national field name
    claimed_count: int
    # The interface's own filters; None (absent or ""): every settlement.
    insutype: str | None = None  # 险种类型: the settlement's
    clr_type: str | None = None  # 清算类别: which settlement codes (CLR_TYPES)
    setl_optins: str | None = None  # 结算经办机构: the patient's insured region (admdvs)


def _filter(data: dict, name: str, pattern: str) -> str | None:
    value = data.get(name)
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if not isinstance(value, str) or not re.fullmatch(pattern, value.strip()):
        raise refuse("INVALID_INPUT", f"{name} 格式不正确")
    return value.strip()


def _filters(data: dict) -> dict:
    clr_type = _filter(data, "clr_type", r"[0-9]{2,6}")
    if clr_type is not None and clr_type not in CLR_TYPES:
        raise refuse("INVALID_INPUT", f"clr_type 须为 {'/'.join(CLR_TYPES)}")
    return {"insutype": _filter(data, "insutype", r"[0-9]{3,6}"), "clr_type": clr_type,
            "setl_optins": _filter(data, "setl_optins", r"[0-9]{6}")}


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
    if isinstance(count, str) and count.isascii() and count.isdigit():  # not "２"
        count = int(count)
    if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count <= MAX_COUNT:
        raise refuse("INVALID_INPUT", f"fixmedins_setl_cnt 须为 0–{MAX_COUNT} 的整数")
    # A period's sums, not one bill: bounded by MAX_TOTAL_FEN, parsed just as exactly.
    claimed = {name: to_fen(data.get(name), MAX_TOTAL_FEN) for name in TOTAL_FIELDS}
    return TotalsQuery(begin, end, claimed, count, **_filters(data))


def system_totals(conn: Connection, institution_id: int, query: TotalsQuery) -> dict[str, int]:
    """The system's own totals in fen: settlements dated in the range, not reversed, and
    within the query's filters. Both kinds of settlement (a v1 bill, a v2 batch) count alike.
    setl_optins is compared with the patient's insured region as it is now."""
    c = settlements.c
    where = [c.institution_id == institution_id, c.setl_date >= query.begin,
             c.setl_date <= query.end, c.reversed_at.is_(None)]
    if query.insutype is not None:
        where.append(c.insutype == query.insutype)
    if query.clr_type is not None:
        where.append(c.infno.in_(CLR_TYPES[query.clr_type]))
    if query.setl_optins is not None:
        where.append(c.person_id.in_(select(persons.c.id).where(
            persons.c.insuplc_admdvs == query.setl_optins)))
    row = conn.execute(select(
        func.coalesce(func.sum(c.medfee_sumamt_fen), 0),
        func.coalesce(func.sum(c.fund_pay_sumamt_fen), 0),
        func.coalesce(func.sum(c.acct_pay_fen), 0),
        func.coalesce(func.sum(c.acct_mulaid_pay_fen), 0),
        func.coalesce(func.sum(c.psn_cash_pay_fen), 0),
        func.count(),
    ).where(*where)).one()
    return dict(zip((*TOTAL_FIELDS, "psn_cash_pay", "count"), (int(v) for v in row),
                    strict=True))


def totals(conn: Connection, inst_code: str, query: TotalsQuery) -> dict:
    """3201: "0" when every total and the count agree, "1" otherwise, with ours beside."""
    inst = repo.institution_by_code(conn, inst_code)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    ours = system_totals(conn, inst.id, query)
    agrees = (all(ours[name] == query.claimed_fen[name] for name in TOTAL_FIELDS)
              and ours["count"] == query.claimed_count)
    result = (StmtResult.AGREED if agrees else StmtResult.DIFFERS).value
    description = "对账一致" if agrees else "对账不一致"
    return {"stmt_rslt": result, "stmt_rslt_dscr": description,
            # where the interface puts them: output.stmtinfo
            "stmtinfo": {"setl_optins": query.setl_optins or inst.admdvs, "stmt_rslt": result,
                         "stmt_rslt_dscr": description},
            "insutype": query.insutype or "", "clr_type": query.clr_type or "",
            "stmt_begndate": query.begin.isoformat(), "stmt_enddate": query.end.isoformat(),
            **{name: to_yuan(ours[name]) for name in (*TOTAL_FIELDS, "psn_cash_pay")},
            "fixmedins_setl_cnt": ours["count"]}


# --- REST: daily totals and per-settlement detail ---------------------------------------------


def _institution(conn: Connection, inst_code: str) -> Row:
    inst = repo.institution_by_code(conn, inst_code)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    return inst


def daily_totals(ctx: Context, inst_code: str, date_from: object, date_to: object) -> dict:
    """对总账 by day: per settlement date, totals of the settlements not reversed now,
    and how many of that day's settlements have been reversed."""
    begin, end = parse_range(date_from, date_to)
    c = settlements.c
    live = c.reversed_at.is_(None)
    names = (*TOTAL_FIELDS, "psn_cash_pay")
    sums = [func.coalesce(func.sum(case((live, getattr(c, f"{name}_fen")), else_=0)), 0)
            for name in names]
    with ctx.read() as uow:
        inst = _institution(uow.conn, inst_code)
        rows = uow.conn.execute(
            select(c.setl_date, *sums, func.count(case((live, 1))),
                   func.count(case((c.reversed_at.is_not(None), 1))))
            .where(c.institution_id == inst.id, c.setl_date >= begin, c.setl_date <= end)
            .group_by(c.setl_date).order_by(c.setl_date)).all()
    days = [(_as_date(row[0]), [int(v) for v in row[1:]]) for row in rows]
    overall = [sum(values[i] for _, values in days) for i in range(len(names) + 2)]
    return {"fixmedins_code": inst_code, "from": begin.isoformat(), "to": end.isoformat(),
            "days": [{"date": day.isoformat(), **_totals_view(names, values)}
                     for day, values in days],
            "totals": _totals_view(names, overall)}


def _totals_view(names: tuple[str, ...], values: list[int]) -> dict:
    """Amounts in yuan by name, then the live count and the reversed count."""
    return {**{name: to_yuan(fen) for name, fen in zip(names, values, strict=False)},
            "fixmedins_setl_cnt": values[-2], "reversed_cnt": values[-1]}


def _as_date(value: object) -> date:
    return value if isinstance(value, date) else date.fromisoformat(str(value))


def settlements_on(ctx: Context, inst_code: str, day: object, cursor: object = None,
                   limit: object = None) -> dict:
    """对明细: every settlement of the institution dated `day`, reversed ones flagged."""
    when = parse_date(day, "date")
    if when is None:
        raise refuse("INVALID_INPUT", "date 须为 YYYY-MM-DD")
    after = decode_cursor(cursor)
    size = parse_limit(limit, default=MAX_DETAIL, maximum=MAX_DETAIL)
    c = settlements.c
    with ctx.read() as uow:
        inst = _institution(uow.conn, inst_code)
        query = (select(settlements, persons.c.psn_no, persons.c.certno, persons.c.psn_name)
                 .join(persons, persons.c.id == c.person_id)
                 .where(c.institution_id == inst.id, c.setl_date == when)
                 .order_by(c.setl_time, c.id).limit(size + 1))
        if after is not None:
            query = query.where(c.setl_time >= after.at, or_(
                c.setl_time > after.at, and_(c.setl_time == after.at, c.id > after.row_id)))
        rows = uow.conn.execute(query).all()
    page = rows[:size]
    return {"fixmedins_code": inst_code, "date": when.isoformat(),
            "settlements": [_detail_view(row) for row in page],
            "next_cursor": (encode_cursor(page[-1].setl_time, page[-1].id)
                            if len(rows) > size else None)}


def _detail_view(row: Row) -> dict:
    return {"setl_id": row.setl_id, "setl_time": iso(row.setl_time), "infno": row.infno,
            "msgid": row.msgid, "psn_no": row.psn_no, "certno": mask_certno(row.certno),
            "psn_name": mask_name(row.psn_name), "insutype": row.insutype,
            **settlement_amounts(row)}


# --- 3202: detail comparison ------------------------------------------------------------------

MAX_DETAIL = 5000
MAX_DIFFERENCES = 1000
DIFF_TYPES = {
    "amount_differs": "金额不符",
    "missing_at_institution": "本系统有、机构未报",
    "unknown_to_system": "本系统无此结算",
    "reversed_in_system": "本系统已撤销",
    "out_of_range": "结算日期不在对账区间",
}


@dataclass(frozen=True)
class DetailQuery:
    begin: date
    end: date
    claimed: dict[str, dict[str, int]]  # setl_id -> the institution's amounts in fen


def parse_detail_query(data: dict) -> DetailQuery:
    begin, end = parse_range(data.get("stmt_begndate"), data.get("stmt_enddate"))
    items = data.get("detail")
    if not isinstance(items, list) or len(items) > MAX_DETAIL:
        raise refuse("INVALID_INPUT", f"detail 须为不超过 {MAX_DETAIL} 条的列表")
    claimed: dict[str, dict[str, int]] = {}
    for item in items:
        setl_id = item.get("setl_id") if isinstance(item, dict) else None
        if not isinstance(setl_id, str) or not 1 <= len(setl_id) <= 30:
            raise refuse("INVALID_INPUT", "detail[].setl_id 须为 1–30 个字符")
        if setl_id in claimed:
            raise refuse("INVALID_INPUT", f"detail 中 setl_id 重复：{setl_id}")
        claimed[setl_id] = {name: to_fen(item.get(name)) for name in TOTAL_FIELDS}
    return DetailQuery(begin, end, claimed)


def compare_detail(conn: Connection, inst_code: str, query: DetailQuery) -> dict:
    """3202: every settlement that differs, is missing on either side, or is not live."""
    inst = _institution(conn, inst_code)
    ours = _live_in_range(conn, inst.id, query.begin, query.end)
    differences: list[dict] = []
    agree = 0
    for setl_id, theirs in query.claimed.items():
        mine = ours.get(setl_id)
        if mine is None:
            continue
        fields = [name for name in TOTAL_FIELDS if mine[name] != theirs[name]]
        if fields:
            differences.append(_difference(setl_id, "amount_differs", mine, theirs, fields))
        else:
            agree += 1
    differences += [_difference(setl_id, "missing_at_institution", mine, None, [])
                    for setl_id, mine in ours.items() if setl_id not in query.claimed]
    strangers = [setl_id for setl_id in query.claimed if setl_id not in ours]
    known = _by_setl_id(conn, inst.id, strangers)
    for setl_id in strangers:
        mine = known.get(setl_id)
        kind = ("unknown_to_system" if mine is None
                else "reversed_in_system" if mine["reversed"] else "out_of_range")
        differences.append(_difference(setl_id, kind, mine, query.claimed[setl_id], []))
    differences.sort(key=lambda d: (d["diff_type"], d["setl_id"]))
    return {"stmt_rslt": (StmtResult.DIFFERS if differences else StmtResult.AGREED).value,
            "stmt_rslt_dscr": "对账不一致" if differences else "对账一致",
            "stmt_begndate": query.begin.isoformat(), "stmt_enddate": query.end.isoformat(),
            "sys_setl_cnt": len(ours), "fixmedins_setl_cnt": len(query.claimed),
            "agree_cnt": agree, "diff_cnt": len(differences),
            "truncated": len(differences) > MAX_DIFFERENCES,
            "differences": differences[:MAX_DIFFERENCES]}


_DETAIL_COLS = (settlements.c.setl_id, settlements.c.setl_date, settlements.c.reversed_at,
                settlements.c.medfee_sumamt_fen, settlements.c.fund_pay_sumamt_fen,
                settlements.c.acct_pay_fen, settlements.c.acct_mulaid_pay_fen)


def _amounts(row: Row) -> dict:
    return {"setl_date": _as_date(row.setl_date).isoformat(),
            "reversed": row.reversed_at is not None,
            **{name: getattr(row, f"{name}_fen") for name in TOTAL_FIELDS}}


def _live_in_range(conn: Connection, institution_id: int, begin: date, end: date) -> dict:
    c = settlements.c
    rows = conn.execute(select(*_DETAIL_COLS).where(
        c.institution_id == institution_id, c.setl_date >= begin, c.setl_date <= end,
        c.reversed_at.is_(None)).order_by(c.setl_id))
    return {row.setl_id: _amounts(row) for row in rows}


def _by_setl_id(conn: Connection, institution_id: int, setl_ids: list[str]) -> dict:
    found = {}
    for start in range(0, len(setl_ids), 500):  # keeps the IN list within driver limits
        chunk = setl_ids[start:start + 500]
        rows = conn.execute(select(*_DETAIL_COLS).where(
            settlements.c.institution_id == institution_id, settlements.c.setl_id.in_(chunk)))
        found.update({row.setl_id: _amounts(row) for row in rows})
    return found


def _difference(setl_id: str, kind: str, mine: dict | None, theirs: dict | None,
                fields: list[str]) -> dict:
    return {"setl_id": setl_id, "diff_type": kind, "diff_dscr": DIFF_TYPES[kind],
            "diff_fields": fields,
            "sys": None if mine is None else {
                "setl_date": mine["setl_date"], "reversed": mine["reversed"],
                **{name: to_yuan(mine[name]) for name in TOTAL_FIELDS}},
            "fixmedins": None if theirs is None else {
                name: to_yuan(theirs[name]) for name in TOTAL_FIELDS}}
