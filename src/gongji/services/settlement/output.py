"""Gateway outputs in the national interface's field names (yuan as JSON numbers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row

from gongji.domain.bill import Bill
from gongji.domain.codes import (
    FUND_PAY_TYPE_BY_INSUTYPE,
    FUND_PAY_TYPE_NAMES,
    Gender,
    InsuType,
    PsnCertType,
)
from gongji.domain.decision import Decision
from gongji.domain.idcard import age_on, birth_date, mask_name
from gongji.domain.money import to_yuan
from gongji.domain.visit import V1, Origin
from gongji.services.clock import inf_time, local_date
from gongji.services.reads.views import account_status, relation_to_you


def settlement_output(setl_id: str | None, bill: Bill, decision: Decision, balc_fen: int,
                      now: datetime, *, patient: Row | None = None, origin: Origin = V1,
                      msgid: str | None = None) -> dict:
    """2206/2207, 2101/2102: what was decided, in the national field names. A pre-settlement
    has the same shape with setl_id null; medins_setl_id is the institution's msgid."""
    alloc = decision.allocation
    setlinfo = {
        "setl_id": setl_id,
        "psn_no": bill.psn_no,
        "medfee_sumamt": to_yuan(bill.medfee_fen),
        "fulamt_ownpay_amt": to_yuan(bill.fulamt_ownpay_fen),
        "overlmt_selfpay": to_yuan(bill.overlmt_selfpay_fen),
        "preselfpay_amt": to_yuan(bill.preselfpay_fen),
        "inscp_scp_amt": to_yuan(bill.inscp_fen),
        "fund_pay_sumamt": to_yuan(decision.fund.fund_fen),
        "psn_part_amt": to_yuan(bill.medfee_fen - decision.fund.fund_fen),
        "acct_pay": to_yuan(alloc.own_fen),
        "acct_mulaid_pay": to_yuan(alloc.mulaid_fen),
        "psn_cash_pay": to_yuan(alloc.cash_fen),
        "balc": to_yuan(balc_fen),
        "setl_time": inf_time(now),
    }
    if patient is not None:
        setlinfo |= v2_setlinfo(origin, msgid, decision.fund.fund_fen,
                                decision.fund.deductible_applied_fen, patient.psn_name,
                                patient.insutype)
    detail = [{"helper_psn_no": decision.helpers[binding_id].psn_no,
               "helper_name": mask_name(decision.helpers[binding_id].psn_name),
               "relation": decision.helpers[binding_id].relation,
               # what the patient calls this helper (儿子, 母亲…): the counter's slip says it
               "kin_to_patient": relation_to_you(decision.helpers[binding_id].relation, False,
                                                 decision.helpers[binding_id].certno),
               "amount": to_yuan(amount_fen)}
              for binding_id, amount_fen in alloc.helpers]
    answer = {"setlinfo": setlinfo, "mulaid_detail": detail}
    if patient is not None:
        answer["setldetail"] = setldetail(patient.insutype, decision.fund.fund_fen)
    return answer


def v2_setlinfo(origin: Origin, msgid: str | None, fund_fen: int, deductible_fen: int,
                psn_name: str, insutype: str) -> dict:
    """The fields a HIS reads beside v1's (CONTRACT v2): hifp_pay is the pooled fund's
    pay (统筹基金支出), act_pay_dedc the deductible this settlement bore (实际支付起付线)."""
    return {"mdtrt_id": origin.mdtrt_id, "med_type": origin.med_type,
            "medins_setl_id": msgid, "hifp_pay": to_yuan(fund_fen),
            "act_pay_dedc": to_yuan(deductible_fen), "psn_name": psn_name,
            "insutype": insutype}


def setldetail(insutype: str, fund_fen: int) -> list[dict]:
    """基金分项结算信息: one item for the pooled fund that paid, none when it paid nothing
    (a fund that paid 0 is not a fund item, as the national answers list only payers)."""
    if fund_fen == 0:
        return []
    fund_type = FUND_PAY_TYPE_BY_INSUTYPE[InsuType(insutype)]
    return [{"fund_pay_type": fund_type.value, "fund_payamt": to_yuan(fund_fen),
             "fund_pay_type_name": FUND_PAY_TYPE_NAMES[fund_type]}]


def stored_settlement_output(row: Row, psn_name: str, helpers: list[dict]) -> dict:
    """5203: a settlement as it was settled, from its stored row, with refd_setl_flag "1"
    once reversed. `helpers` is its mulaid_detail as the settlement answered it."""
    setlinfo = {
        "setl_id": row.setl_id,
        "psn_no": row.psn_no,
        "medfee_sumamt": to_yuan(row.medfee_sumamt_fen),
        "fulamt_ownpay_amt": to_yuan(row.fulamt_ownpay_amt_fen),
        "overlmt_selfpay": to_yuan(row.overlmt_selfpay_fen),
        "preselfpay_amt": to_yuan(row.preselfpay_amt_fen),
        "inscp_scp_amt": to_yuan(row.inscp_scp_amt_fen),
        "fund_pay_sumamt": to_yuan(row.fund_pay_sumamt_fen),
        "psn_part_amt": to_yuan(row.psn_part_amt_fen),
        "acct_pay": to_yuan(row.acct_pay_fen),
        "acct_mulaid_pay": to_yuan(row.acct_mulaid_pay_fen),
        "psn_cash_pay": to_yuan(row.psn_cash_pay_fen),
        "balc": to_yuan(row.balc_fen),
        "setl_time": inf_time(row.setl_time),
        "refd_setl_flag": "1" if row.reversed_at is not None else "0",
    } | v2_setlinfo(Origin(row.mdtrt_id, row.chrg_bchno, row.med_type), row.msgid,
                    row.fund_pay_sumamt_fen, row.deductible_applied_fen, psn_name, row.insutype)
    return {"setlinfo": setlinfo, "mulaid_detail": helpers,
            "setldetail": setldetail(row.insutype, row.fund_pay_sumamt_fen)}


def person_info_output(person: Row, now: datetime) -> dict:
    """1101: the person's own data, as the institution reads it from their credential.

    Field names are the interface's (baseinfo / insuinfo[] / idetinfo[]). `psn_cert_type` is
    "01" (居民身份证): every person here is registered by ID number. `idetinfo` (人员身份,
    e.g. 低保, 特困) is always an empty list: the system holds no such identities. `balc` is
    the person's own balance, never a helper's."""
    born = birth_date(person.certno)
    return {
        "baseinfo": {
            "psn_no": person.psn_no,
            "psn_cert_type": PsnCertType.ID_CARD.value,
            "certno": person.certno,
            "psn_name": person.psn_name,
            "gend": (Gender.MALE if int(person.certno[16]) % 2 else Gender.FEMALE).value,
            "brdy": born.isoformat(),
            "age": age_on(person.certno, local_date(now)),
        },
        "insuinfo": [{
            "insutype": person.insutype,
            "psn_insu_stas": person.psn_insu_stas,
            "insuplc_admdvs": person.insuplc_admdvs,
            "balc": to_yuan(person.balance_fen or 0),
            "acct_status": account_status(person),
        }],
        "idetinfo": [],
    }
