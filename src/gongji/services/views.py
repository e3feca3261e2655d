"""How persons and money are shown at the edge (yuan, masked where not the owner's)."""

from __future__ import annotations

from sqlalchemy import Row

from gongji.domain.idcard import mask_certno, mask_name
from gongji.domain.money import to_yuan


def account_status(row: Row) -> str:
    return "none" if row.account_id is None else row.account_status


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


def masked_party(row: Row) -> dict:
    """A counterpart as others may see them."""
    return {"certno": mask_certno(row.certno), "name": mask_name(row.psn_name)}
