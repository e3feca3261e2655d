"""A bill as an institution sends it (national field names), checked before anything moves."""

from __future__ import annotations

from dataclasses import dataclass

from gongji.domain.codes import AcctUsedFlag, CertType, InsuType, values
from gongji.domain.errors import refuse
from gongji.domain.money import to_fen, yuan_text

CERT_TYPES = values(CertType)  # 医保电子凭证, 居民身份证, 社会保障卡
ACCT_USED_FLAGS = values(AcctUsedFlag)
INSUTYPES = values(InsuType)


@dataclass(frozen=True)
class Bill:
    psn_no: str
    mdtrt_cert_type: str
    mdtrt_cert_no: str
    medfee_fen: int  # medfee_sumamt
    fulamt_ownpay_fen: int  # fulamt_ownpay_amt 全自费
    overlmt_selfpay_fen: int  # overlmt_selfpay 超限价
    preselfpay_fen: int  # preselfpay_amt 先行自付
    inscp_fen: int  # inscp_scp_amt 政策范围内
    use_accounts: bool  # acct_used_flag
    insutype: str | None


def _text(data: dict, name: str, limit: int) -> str:
    value = data.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise refuse("INVALID_INPUT", f"{name} 须为 1–{limit} 个字符")
    return value.strip()


def parse_bill(data: dict) -> Bill:
    """Refuse anything but a bill whose parts add up to its total."""
    cert_type = data.get("mdtrt_cert_type")
    if cert_type not in CERT_TYPES:
        raise refuse("INVALID_INPUT", "mdtrt_cert_type 须为 01、02 或 03")
    flag = data.get("acct_used_flag", AcctUsedFlag.USED.value)
    # The contract's text only: True == 1 and 1.0 == 1 in Python, so `in` alone let them
    # through, and str() then read them as "0".
    if not isinstance(flag, str) or flag not in ACCT_USED_FLAGS:
        raise refuse("INVALID_INPUT", 'acct_used_flag 须为 "1" 或 "0"')
    insutype = data.get("insutype")
    if insutype is not None and insutype not in INSUTYPES:
        raise refuse("INVALID_INPUT", "insutype 须为 310 或 390")
    bill = Bill(
        psn_no=_text(data, "psn_no", 30),
        mdtrt_cert_type=cert_type,
        mdtrt_cert_no=_text(data, "mdtrt_cert_no", 200),
        medfee_fen=to_fen(data.get("medfee_sumamt")),
        fulamt_ownpay_fen=to_fen(data.get("fulamt_ownpay_amt", 0)),
        overlmt_selfpay_fen=to_fen(data.get("overlmt_selfpay", 0)),
        preselfpay_fen=to_fen(data.get("preselfpay_amt", 0)),
        inscp_fen=to_fen(data.get("inscp_scp_amt", 0)),
        use_accounts=flag == AcctUsedFlag.USED,
        insutype=insutype,
    )
    parts_fen = (bill.fulamt_ownpay_fen + bill.overlmt_selfpay_fen + bill.preselfpay_fen
                 + bill.inscp_fen)
    if bill.medfee_fen == 0:
        raise refuse("INVALID_AMOUNT", "medfee_sumamt 须大于 0")
    if parts_fen != bill.medfee_fen:
        raise refuse("AMOUNT_MISMATCH",
                     f"各部分之和 {yuan_text(parts_fen)} ≠ 总额 {yuan_text(bill.medfee_fen)}")
    return bill
