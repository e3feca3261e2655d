"""How persons and money are shown at the edge (yuan, masked where not the owner's)."""

from __future__ import annotations

from sqlalchemy import Row

from gongji.domain.codes import AccountStatus
from gongji.domain.idcard import is_female, mask_certno, mask_name
from gongji.domain.kinship import kin_word, seen_by
from gongji.domain.money import to_yuan
from gongji.services.clock import iso


def account_status(row: Row) -> str:
    return AccountStatus.NONE.value if row.account_id is None else row.account_status


def person_view(row: Row) -> dict:
    """The full record: for the person themself and for operators and clerks."""
    return {
        "psn_no": row.psn_no,
        "certno": row.certno,
        "psn_name": row.psn_name,
        "insutype": row.insutype,
        "insuplc_admdvs": row.insuplc_admdvs,
        "psn_insu_stas": row.psn_insu_stas,
        "card_no": row.card_no,
        "account_status": account_status(row),
        "balance": to_yuan(row.balance_fen or 0),
    }


def relation_to_you(stored: str | None, reader_is_helper: bool,
                    counterpart_certno: str | None) -> str | None:
    """What the counterpart is to the reader, in the word the reader would use ("母亲"): the
    stored relation is the beneficiary's to the helper, and the sex is in the counterpart's
    full ID number, which only the server holds (the page gets it masked)."""
    if not stored or not counterpart_certno:
        return None
    return kin_word(seen_by(stored, reader_is_helper), is_female(counterpart_certno))


def masked_party(row: Row) -> dict:
    """A counterpart as others may see them."""
    return {"certno": mask_certno(row.certno), "name": mask_name(row.psn_name)}


def settlement_amounts(row: Row) -> dict:
    """A settlement row's national amounts in yuan and its reversal state."""
    return {"medfee_sumamt": to_yuan(row.medfee_sumamt_fen),
            "fund_pay_sumamt": to_yuan(row.fund_pay_sumamt_fen),
            "psn_part_amt": to_yuan(row.psn_part_amt_fen),
            "acct_pay": to_yuan(row.acct_pay_fen),
            "acct_mulaid_pay": to_yuan(row.acct_mulaid_pay_fen),
            "psn_cash_pay": to_yuan(row.psn_cash_pay_fen),
            "reversed": row.reversed_at is not None, "reversed_at": iso(row.reversed_at)}
