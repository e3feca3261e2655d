"""`gongji verify`: recompute every balance from the journal and check every money
invariant, reading straight from the tables (the database's own constraints and
triggers are not trusted here: this is what finds a row changed behind their back).

All checks read one snapshot (REPEATABLE READ on PostgreSQL; one read transaction on
SQLite), so a verify running beside live settlements sees a consistent state.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Connection, text

from gongji.domain.money import yuan_text
from gongji.services.context import Context

SHOWN = 100  # violations listed per check; the count says how many there are


@dataclass(frozen=True)
class Check:
    name: str
    description: str  # 中文: what must hold
    sql: str  # selects (subject, detail...) of every row breaking it
    describe: object  # row -> (subject, detail)
    # Reported, never a failure: a state the rules allow to arise (exit code stays 0).
    advisory: bool = False


@dataclass
class Result:
    check: Check
    violations: list[tuple[str, str]] = field(default_factory=list)
    total: int = 0


def _y(fen: object) -> str:
    return "∅" if fen is None else yuan_text(int(fen))


CHECKS = (
    Check("journal_balanced", "每笔分录的过账合计为零，且笔数与登记一致", """
        SELECT t.id, t.kind, t.posting_count, COUNT(p.id) AS n,
               COALESCE(SUM(p.amount_fen), 0) AS total
        FROM journal_txns t LEFT JOIN postings p ON p.txn_id = t.id
        GROUP BY t.id, t.kind, t.posting_count
        HAVING COALESCE(SUM(p.amount_fen), 0) <> 0 OR COUNT(p.id) <> t.posting_count
        ORDER BY t.id""",
          lambda r: (f"分录 {r.id}（{r.kind}）",
                     f"合计 {_y(r.total)} 元，过账 {r.n} 笔，登记 {r.posting_count} 笔")),
    Check("journal_orphans", "每条过账都属于一笔已登记的分录", """
        SELECT p.txn_id, COUNT(*) AS n FROM postings p
        LEFT JOIN journal_txns t ON t.id = p.txn_id
        WHERE t.id IS NULL GROUP BY p.txn_id ORDER BY p.txn_id""",
          lambda r: (f"分录 {r.txn_id}", f"{r.n} 条过账没有分录记录")),
    Check("balance_not_negative", "个人账户余额不为负", """
        SELECT id, code, balance_fen FROM accounts WHERE balance_fen < 0 ORDER BY id""",
          lambda r: (f"账户 {r.code}", f"余额 {_y(r.balance_fen)} 元")),
    Check("balance_matches_journal", "个人账户余额等于其全部过账之和", """
        SELECT a.id, a.code, a.balance_fen, COALESCE(j.total, 0) AS journal_fen
        FROM accounts a
        LEFT JOIN (SELECT account_id, SUM(amount_fen) AS total FROM postings
                   GROUP BY account_id) j ON j.account_id = a.id
        WHERE a.kind = 'personal' AND a.balance_fen <> COALESCE(j.total, 0)
        ORDER BY a.id""",
          lambda r: (f"账户 {r.code}",
                     f"余额 {_y(r.balance_fen)} 元，按分录重算为 {_y(r.journal_fen)} 元")),
    Check("balance_after_chain", "个人账户每条过账的“余额”等于此前过账累计", """
        SELECT x.id, x.code, x.balance_after_fen, x.running FROM (
          SELECT p.id, a.code, p.balance_after_fen,
                 SUM(p.amount_fen) OVER (PARTITION BY p.account_id ORDER BY p.id) AS running
          FROM postings p JOIN accounts a ON a.id = p.account_id AND a.kind = 'personal'
        ) x
        WHERE x.balance_after_fen IS NULL OR x.balance_after_fen <> x.running
        ORDER BY x.id""",
          lambda r: (f"过账 {r.id}（账户 {r.code}）",
                     f"记载余额 {_y(r.balance_after_fen)} 元，累计应为 {_y(r.running)} 元")),
    Check("settlement_parts", "结算的各部分相加等于总额（费用明细、基金与个人负担、"
                              "个人账户+共济+现金、共济明细）", """
        SELECT s.setl_id, s.medfee_sumamt_fen, s.fulamt_ownpay_amt_fen, s.overlmt_selfpay_fen,
               s.preselfpay_amt_fen, s.inscp_scp_amt_fen, s.fund_pay_sumamt_fen,
               s.psn_part_amt_fen, s.acct_pay_fen, s.acct_mulaid_pay_fen, s.psn_cash_pay_fen,
               COALESCE(m.total, 0) AS detail_fen
        FROM settlements s
        LEFT JOIN (SELECT settlement_id, SUM(amount_fen) AS total FROM settlement_mulaid
                   GROUP BY settlement_id) m ON m.settlement_id = s.id
        WHERE s.medfee_sumamt_fen <> s.fulamt_ownpay_amt_fen + s.overlmt_selfpay_fen
                                     + s.preselfpay_amt_fen + s.inscp_scp_amt_fen
           OR s.medfee_sumamt_fen <> s.fund_pay_sumamt_fen + s.psn_part_amt_fen
           OR s.psn_part_amt_fen <> s.acct_pay_fen + s.acct_mulaid_pay_fen + s.psn_cash_pay_fen
           OR s.acct_mulaid_pay_fen <> COALESCE(m.total, 0)
        ORDER BY s.id""",
          lambda r: (f"结算 {r.setl_id}",
                     f"总额 {_y(r.medfee_sumamt_fen)}，基金 {_y(r.fund_pay_sumamt_fen)}，"
                     f"个人负担 {_y(r.psn_part_amt_fen)}，个人账户 {_y(r.acct_pay_fen)}，"
                     f"共济 {_y(r.acct_mulaid_pay_fen)}（明细合计 {_y(r.detail_fen)}），"
                     f"现金 {_y(r.psn_cash_pay_fen)}")),
    Check("settlement_postings", "结算分录与结算金额一致（机构收总额，基金、现金、"
                                 "本人账户、共济账户各付其数）", """
        SELECT s.setl_id,
               COALESCE(SUM(CASE WHEN p.account_id = i.account_id THEN p.amount_fen END), 0)
                 AS inst_fen,
               COALESCE(SUM(CASE WHEN a.kind = 'fund' THEN p.amount_fen END), 0) AS fund_fen,
               COALESCE(SUM(CASE WHEN a.kind = 'cash' THEN p.amount_fen END), 0) AS cash_fen,
               COALESCE(SUM(CASE WHEN a.kind = 'personal' AND p.binding_id IS NULL
                            THEN p.amount_fen END), 0) AS own_fen,
               COALESCE(SUM(CASE WHEN a.kind = 'personal' AND p.binding_id IS NOT NULL
                            THEN p.amount_fen END), 0) AS helpers_fen,
               s.medfee_sumamt_fen, s.fund_pay_sumamt_fen, s.psn_cash_pay_fen, s.acct_pay_fen,
               s.acct_mulaid_pay_fen
        FROM settlements s
        JOIN institutions i ON i.id = s.institution_id
        LEFT JOIN postings p ON p.txn_id = s.txn_id
        LEFT JOIN accounts a ON a.id = p.account_id
        GROUP BY s.id, s.setl_id, s.medfee_sumamt_fen, s.fund_pay_sumamt_fen,
                 s.psn_cash_pay_fen, s.acct_pay_fen, s.acct_mulaid_pay_fen
        HAVING COALESCE(SUM(CASE WHEN p.account_id = i.account_id THEN p.amount_fen END), 0)
                 <> s.medfee_sumamt_fen
            OR COALESCE(SUM(CASE WHEN a.kind = 'fund' THEN p.amount_fen END), 0)
                 <> -s.fund_pay_sumamt_fen
            OR COALESCE(SUM(CASE WHEN a.kind = 'cash' THEN p.amount_fen END), 0)
                 <> -s.psn_cash_pay_fen
            OR COALESCE(SUM(CASE WHEN a.kind = 'personal' AND p.binding_id IS NULL
                            THEN p.amount_fen END), 0) <> -s.acct_pay_fen
            OR COALESCE(SUM(CASE WHEN a.kind = 'personal' AND p.binding_id IS NOT NULL
                            THEN p.amount_fen END), 0) <> -s.acct_mulaid_pay_fen
        ORDER BY s.setl_id""",
          lambda r: (f"结算 {r.setl_id}",
                     f"分录：机构 {_y(r.inst_fen)}/基金 {_y(r.fund_fen)}/现金 {_y(r.cash_fen)}"
                     f"/本人 {_y(r.own_fen)}/共济 {_y(r.helpers_fen)}；结算：总额 "
                     f"{_y(r.medfee_sumamt_fen)}/基金 {_y(r.fund_pay_sumamt_fen)}/现金 "
                     f"{_y(r.psn_cash_pay_fen)}/本人 {_y(r.acct_pay_fen)}/共济 "
                     f"{_y(r.acct_mulaid_pay_fen)}")),
    Check("settlement_reversal", "撤销分录逐账户冲回原结算分录", """
        SELECT s.setl_id, p.account_id, SUM(p.amount_fen) AS net_fen
        FROM settlements s JOIN postings p
          ON p.txn_id = s.txn_id OR p.txn_id = s.reversal_txn_id
        WHERE s.reversal_txn_id IS NOT NULL
        GROUP BY s.id, s.setl_id, p.account_id HAVING SUM(p.amount_fen) <> 0
        ORDER BY s.setl_id, p.account_id""",
          lambda r: (f"结算 {r.setl_id}", f"账户 {r.account_id} 撤销后净额 {_y(r.net_fen)} 元")),
    # 2601 冲正: a msgid it spent never stands as a settlement.
    Check("spent_msgid_not_settled", "被冲正（2601）作废的报文号没有未撤销的结算", """
        SELECT s.setl_id, x.msgid, x.by_msgid
        FROM spent_msgids x JOIN settlements s
          ON s.institution_id = x.institution_id AND s.msgid = x.msgid
        WHERE s.reversed_at IS NULL
        ORDER BY s.setl_id""",
          lambda r: (f"结算 {r.setl_id}",
                     f"报文 {r.msgid} 已被冲正报文 {r.by_msgid} 作废，结算却未撤销")),
    Check("mulaid_postings", "每条共济明细在该共济人账户上有对应过账", """
        SELECT s.setl_id, m.seq, m.amount_fen, m.helper_id, ha.person_id AS holder_id
        FROM settlement_mulaid m
        JOIN settlements s ON s.id = m.settlement_id
        LEFT JOIN accounts ha ON ha.id = m.account_id
        WHERE ha.person_id IS NULL OR ha.person_id <> m.helper_id
           OR NOT EXISTS (SELECT 1 FROM postings p
                          WHERE p.txn_id = s.txn_id AND p.account_id = m.account_id
                            AND p.binding_id = m.binding_id AND p.amount_fen = -m.amount_fen)
        ORDER BY s.setl_id, m.seq""",
          lambda r: (f"结算 {r.setl_id} 共济明细 {r.seq}",
                     f"共济 {_y(r.amount_fen)} 元在共济人账户上没有对应过账")),
    # The end instant is inclusive: a settlement and an unbinding serialise on the helper's
    # account lock and the unbinding reads the clock after it, so the same instant means
    # the settlement came first.
    Check("mulaid_binding_active", "结算只扣结算时有效共济关系的共济人"
                                   "（生效时间 ≤ 结算时间 ≤ 终止时间）", """
        SELECT s.setl_id, m.seq, b.id AS binding_id, b.status, b.activated_at, b.ended_at,
               s.setl_time
        FROM settlement_mulaid m
        JOIN settlements s ON s.id = m.settlement_id
        LEFT JOIN bindings b ON b.id = m.binding_id
        WHERE b.id IS NULL OR b.activated_at > s.setl_time
           OR (b.ended_at IS NOT NULL AND s.setl_time > b.ended_at)
           OR b.helper_id <> m.helper_id OR b.beneficiary_id <> s.person_id
        ORDER BY s.setl_id, m.seq""",
          lambda r: (f"结算 {r.setl_id} 共济明细 {r.seq}",
                     f"共济关系 {r.binding_id}（{r.status}，{r.activated_at} 至 "
                     f"{r.ended_at or '—'}）在结算时间 {r.setl_time} 无效")),
    Check("premium_postings", "代缴分录与代缴金额一致（共济人账户付出、征收账户收到），"
                              "撤销逐账户冲回", """
        SELECT pr.id, pr.amount_fen,
               COALESCE(SUM(CASE WHEN p.txn_id = pr.txn_id AND a.person_id = pr.helper_id
                            THEN p.amount_fen END), 0) AS helper_fen,
               COALESCE(SUM(CASE WHEN p.txn_id = pr.txn_id AND a.kind = 'premium'
                            THEN p.amount_fen END), 0) AS collected_fen,
               COALESCE(SUM(CASE WHEN p.txn_id = pr.reversal_txn_id THEN p.amount_fen END), 0)
                 AS reversal_total_fen,
               COALESCE(SUM(CASE WHEN p.txn_id = pr.reversal_txn_id
                                  AND a.person_id = pr.helper_id THEN p.amount_fen END), 0)
                 AS refund_fen,
               pr.reversal_txn_id
        FROM premiums pr
        LEFT JOIN postings p ON p.txn_id = pr.txn_id OR p.txn_id = pr.reversal_txn_id
        LEFT JOIN accounts a ON a.id = p.account_id
        GROUP BY pr.id, pr.amount_fen, pr.helper_id, pr.reversal_txn_id
        HAVING COALESCE(SUM(CASE WHEN p.txn_id = pr.txn_id AND a.person_id = pr.helper_id
                            THEN p.amount_fen END), 0) <> -pr.amount_fen
            OR COALESCE(SUM(CASE WHEN p.txn_id = pr.txn_id AND a.kind = 'premium'
                            THEN p.amount_fen END), 0) <> pr.amount_fen
            OR (pr.reversal_txn_id IS NOT NULL AND COALESCE(SUM(
                  CASE WHEN p.txn_id = pr.reversal_txn_id AND a.person_id = pr.helper_id
                  THEN p.amount_fen END), 0) <> pr.amount_fen)
        ORDER BY pr.id""",
          lambda r: (f"代缴 {r.id}",
                     f"金额 {_y(r.amount_fen)}；分录：共济人 {_y(r.helper_fen)}，征收 "
                     f"{_y(r.collected_fen)}，撤销退回 {_y(r.refund_fen)}")),
    Check("credit_postings", "每笔划入记在本人账户并有对应过账，冲正逐笔冲回", """
        SELECT c.ref, c.amount_fen, c.reversal_txn_id FROM credits c
        LEFT JOIN accounts a ON a.id = c.account_id
        WHERE a.person_id IS NULL OR a.person_id <> c.person_id
           OR NOT EXISTS (SELECT 1 FROM postings p WHERE p.txn_id = c.txn_id
                            AND p.account_id = c.account_id AND p.amount_fen = c.amount_fen)
           OR (c.reversal_txn_id IS NOT NULL AND NOT EXISTS (
                 SELECT 1 FROM postings p WHERE p.txn_id = c.reversal_txn_id
                   AND p.account_id = c.account_id AND p.amount_fen = -c.amount_fen))
        ORDER BY c.ref""",
          lambda r: (f"划入 {r.ref}", f"金额 {_y(r.amount_fen)} 元的过账缺失或不符")),
    Check("credit_batches", "划入分录的个人账户过账合计等于其划入记录合计", """
        SELECT k.txn_id, k.total AS credited_fen, COALESCE(SUM(p.amount_fen), 0) AS posted_fen
        FROM (SELECT txn_id, SUM(amount_fen) AS total FROM credits GROUP BY txn_id) k
        LEFT JOIN postings p ON p.txn_id = k.txn_id AND p.amount_fen > 0
        GROUP BY k.txn_id, k.total HAVING COALESCE(SUM(p.amount_fen), 0) <> k.total
        ORDER BY k.txn_id""",
          lambda r: (f"分录 {r.txn_id}",
                     f"划入记录合计 {_y(r.credited_fen)} 元，过账 {_y(r.posted_fen)} 元")),
    # 共济额度: what remains of a quota lies within 0..quota, both set or neither.
    Check("quota_within", "共济额度的剩余在 0 与额度之间（额度与剩余同时有或同时无）", """
        SELECT id, quota_fen, quota_remaining_fen FROM bindings
        WHERE (quota_fen IS NULL) <> (quota_remaining_fen IS NULL)
           OR quota_remaining_fen < 0 OR quota_remaining_fen > quota_fen
        ORDER BY id""",
          lambda r: (f"共济关系 {r.id}",
                     f"额度 {_y(r.quota_fen)} 元，剩余 {_y(r.quota_remaining_fen)} 元")),
    # Reported only: a credit reversal may take back money a quota had reserved.
    Check("quota_reserved_within_balance", "共济人各有效共济额度的剩余合计不超过其余额（仅提示："
                                           "划入冲正可能使其超出）", """
        SELECT a.code, a.balance_fen, q.reserved_fen
        FROM (SELECT helper_id, SUM(quota_remaining_fen) AS reserved_fen FROM bindings
              WHERE status = 'active' AND quota_remaining_fen IS NOT NULL
              GROUP BY helper_id) q
        JOIN accounts a ON a.person_id = q.helper_id AND a.kind = 'personal'
        WHERE q.reserved_fen > a.balance_fen
        ORDER BY a.id""",
          lambda r: (f"账户 {r.code}",
                     f"额度剩余合计 {_y(r.reserved_fen)} 元，余额 {_y(r.balance_fen)} 元"),
          advisory=True),
    # 政策版本: a settlement records the version it applied, one in force on its date.
    Check("settlement_policy_version", "每笔结算记载其所用的政策版本，且该版本存在、"
                                       "在结算日已生效", """
        SELECT s.setl_id, s.setl_date, s.policy_version, v.effective_from
        FROM settlements s LEFT JOIN policy_versions v ON v.id = s.policy_version
        WHERE v.id IS NULL OR v.effective_from > s.setl_date
        ORDER BY s.id""",
          lambda r: (f"结算 {r.setl_id}",
                     "未记载政策版本" if r.policy_version is None else
                     f"政策版本 {r.policy_version} "
                     + ("不存在" if r.effective_from is None
                        else f"自 {r.effective_from} 起生效，晚于结算日 {r.setl_date}"))),
    # Fee lines: a live settlement made of lines (a visit's batch, a pharmacy's
    # drugdetail) is exactly its lines; a reversed batch holds none (they were freed).
    Check("settlement_lines", "由费用明细结算的有效结算，其明细合计等于总额与四个部分；"
                              "已撤销的就诊结算不再占用明细", """
        SELECT s.setl_id, s.reversed_at, s.medfee_sumamt_fen, l.total_fen, l.n
        FROM settlements s
        LEFT JOIN (SELECT settlement_id, COUNT(*) AS n,
                          SUM(det_item_fee_sumamt_fen) AS total_fen,
                          SUM(fulamt_ownpay_amt_fen) AS fulamt_fen,
                          SUM(overlmt_amt_fen) AS overlmt_fen,
                          SUM(preselfpay_amt_fen) AS preselfpay_fen,
                          SUM(inscp_scp_amt_fen) AS inscp_fen
                   FROM fee_lines WHERE settlement_id IS NOT NULL
                   GROUP BY settlement_id) l ON l.settlement_id = s.id
        WHERE (s.reversed_at IS NULL AND (s.mdtrt_id IS NOT NULL OR l.n IS NOT NULL)
               AND (l.n IS NULL OR l.total_fen <> s.medfee_sumamt_fen
                    OR l.fulamt_fen <> s.fulamt_ownpay_amt_fen
                    OR l.overlmt_fen <> s.overlmt_selfpay_fen
                    OR l.preselfpay_fen <> s.preselfpay_amt_fen
                    OR l.inscp_fen <> s.inscp_scp_amt_fen))
           OR (s.reversed_at IS NOT NULL AND s.mdtrt_id IS NOT NULL AND l.n IS NOT NULL)
        ORDER BY s.id""",
          lambda r: (f"结算 {r.setl_id}",
                     f"总额 {_y(r.medfee_sumamt_fen)} 元，明细 {r.n or 0} 条合计 "
                     f"{_y(r.total_fen)} 元" + ("（已撤销仍占用明细）" if r.reversed_at else ""))),
    # Inpatient stays: a stay's stored state agrees with its visit and its settlements
    # (domain/stay.py: a live settlement only of a discharged stay, at most one; cancelled
    # exactly when its visit is), and the inpatient fund scene is a stay's and only a stay's.
    Check("stay_consistent", "住院状态与就诊、结算一致：有效结算仅属于已出院的住院且至多一笔，"
                             "入院撤销与就诊撤销一致；住院结算的基金场景为 inpatient，"
                             "其他结算不是", """
        SELECT v.mdtrt_id, v.kind, v.status AS visit_status, st.status AS stay_status,
               COALESCE(s.live, 0) AS live,
               CASE WHEN v.kind = 'inpatient' THEN COALESCE(s.in_other, 0)
                    ELSE COALESCE(s.in_stay, 0) END AS wrong_scene
        FROM visits v
        LEFT JOIN stays st ON st.visit_id = v.id
        LEFT JOIN (SELECT mdtrt_id,
                          SUM(CASE WHEN reversed_at IS NULL THEN 1 ELSE 0 END) AS live,
                          SUM(CASE WHEN fund_scene = 'inpatient' THEN 0 ELSE 1 END) AS in_other,
                          SUM(CASE WHEN fund_scene = 'inpatient' THEN 1 ELSE 0 END) AS in_stay
                   FROM settlements WHERE mdtrt_id IS NOT NULL GROUP BY mdtrt_id) s
               ON s.mdtrt_id = v.mdtrt_id
        WHERE (CASE WHEN v.kind = 'inpatient' THEN COALESCE(s.in_other, 0)
                    ELSE COALESCE(s.in_stay, 0) END) > 0
           OR (v.kind = 'outpatient' AND st.visit_id IS NOT NULL)
           OR (v.kind = 'inpatient' AND (
                  st.visit_id IS NULL
                  OR (st.status = 'cancelled') <> (v.status = 'cancelled')
                  OR (COALESCE(s.live, 0) > 0 AND st.status <> 'discharged')
                  OR COALESCE(s.live, 0) > 1))
        ORDER BY v.id""",
          lambda r: (f"就诊 {r.mdtrt_id}（{r.kind}）",
                     f"就诊状态 {r.visit_status}，住院状态 {r.stay_status or '无'}，"
                     f"有效结算 {r.live} 笔，基金场景不符 {r.wrong_scene} 笔")),
)


def verify(ctx: Context, on_check=None) -> list[Result]:  # noqa: ANN001
    """Every check, in one snapshot; `on_check(result)` is told as each one finishes."""
    results = []
    with ctx.read() as uow:
        conn = uow.conn
        _snapshot(conn)
        for check in CHECKS:
            result = run_check(conn, check)
            results.append(result)
            if on_check:
                on_check(result)
    return results


def _snapshot(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))


def run_check(conn: Connection, check: Check) -> Result:
    result = Result(check)
    for row in conn.execute(text(check.sql)):
        result.total += 1
        if result.total <= SHOWN:
            result.violations.append(check.describe(row))
    return result
