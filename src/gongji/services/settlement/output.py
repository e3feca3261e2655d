"""Gateway outputs in the national interface's field names (yuan as JSON numbers)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Row

from gongji.domain.bill import Bill
from gongji.domain.codes import Gender, PsnCertType
from gongji.domain.decision import Decision
from gongji.domain.idcard import age_on, birth_date, mask_name
from gongji.domain.money import to_yuan
from gongji.services.clock import inf_time, local_date
from gongji.services.reads.views import account_status


def settlement_output(setl_id: str | None, bill: Bill, decision: Decision, balc_fen: int,
                      now: datetime) -> dict:
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
    detail = [{"helper_psn_no": decision.helpers[binding_id].psn_no,
               "helper_name": mask_name(decision.helpers[binding_id].psn_name),
               "relation": decision.helpers[binding_id].relation,
               "amount": to_yuan(amount_fen)}
              for binding_id, amount_fen in alloc.helpers]
    return {"setlinfo": setlinfo, "mulaid_detail": detail}


def person_info_output(person: Row, now: datetime) -> dict:
    """1101: the person's own data, as the institution reads it from their credential."""
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
    }
