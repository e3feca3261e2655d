"""The domain's codes, one place each: what is stored in the tables and sent on the wire.

Every value is the exact string the contract, the national interface and the stored rows
use, so an enum member compares, hashes and serialises as that string (StrEnum). A new
code is a new member here; the database CHECKs (store/schema.py), the request schemas
(api/schemas.py) and the checks in the services are built from these.

The life-cycle statuses of invitations and bindings are enums beside their moves, in
domain/lifecycle.py (InvitationStatus, BindingStatus).
"""

from __future__ import annotations

import re
from enum import StrEnum


class InsuStatus(StrEnum):
    """psn_insu_stas 参保状态."""

    INSURED = "1"  # 正常参保
    SUSPENDED = "2"  # 暂停参保


class InsuType(StrEnum):
    """insutype 险种类型."""

    EMPLOYEE = "310"  # 职工基本医疗保险: has a personal account, may help
    RESIDENT = "390"  # 城乡居民基本医疗保险


class AccountStatus(StrEnum):
    """A person's personal account as shown; only NORMAL and FROZEN are ever stored."""

    NORMAL = "normal"
    FROZEN = "frozen"
    NONE = "none"  # no personal account (balance 0): shown, never stored


STORED_ACCOUNT_STATUSES = (AccountStatus.NORMAL, AccountStatus.FROZEN)


class CertType(StrEnum):
    """mdtrt_cert_type 就诊凭证类型: the credential a bill names the patient by."""

    EVOUCHER = "01"  # 医保电子凭证
    ID_NUMBER = "02"  # 居民身份证（号码）
    CARD = "03"  # 社会保障卡


class PsnCertType(StrEnum):
    """psn_cert_type 人员证件类型 (1101 baseinfo): not the credential codes above."""

    ID_CARD = "01"  # 居民身份证


class Gender(StrEnum):
    """gend 性别, as 1101 answers it (from the ID number's sequence digit)."""

    MALE = "1"
    FEMALE = "2"


class AcctUsedFlag(StrEnum):
    """acct_used_flag 个人账户使用标志."""

    USED = "1"
    NOT_USED = "0"


class MidSetlFlag(StrEnum):
    """mid_setl_flag 中途结算标志 (2303/2304): a stay settles at discharge only."""

    AT_DISCHARGE = "0"  # 出院结算
    MID_STAY = "1"  # 中途结算: refused, MID_SETTLEMENT_UNSUPPORTED


class StmtResult(StrEnum):
    """stmt_rslt 对账结果 (3201, 3202)."""

    AGREED = "0"  # 对账一致
    DIFFERS = "1"  # 对账不一致


class InstitutionType(StrEnum):
    """fixmedins_type 定点医药机构类型; also the fund-rule scene of a settlement."""

    HOSPITAL = "hospital"
    PHARMACY = "pharmacy"


class Channel(StrEnum):
    """Where a binding is made (policy `channels`); HALL is the clerk's, never a person's."""

    NATIONAL_APP = "national_app"
    MINI_PROGRAM = "mini_program"
    WECHAT = "wechat"
    WEBSITE = "website"
    HALL = "hall"
    KIOSK = "kiosk"


class KinshipVerification(StrEnum):
    """How a kinship is verified (policy `kinship_verification`, bindings.verification)."""

    REGISTRY = "registry"  # 亲属关系核验
    DECLARATION = "declaration"  # 承诺制


class ChrgitmLv(StrEnum):
    """chrgitm_lv 收费项目等级 (医保目录): how the fund treats a fee line."""

    CLASS_A = "01"  # 甲类: wholly within the fund's scope
    CLASS_B = "02"  # 乙类: a 先行自付比例 share first borne by the patient
    SELF_PAY = "03"  # 丙类/自费: wholly the patient's


class FundPayType(StrEnum):
    """fund_pay_type 基金支付类型 (setldetail): the national code of the pooled fund that
    paid, by the patient's insutype. 310100 职工基本医疗保险统筹基金, 390100 城乡居民基本
    医疗保险基金."""

    EMPLOYEE_POOLED = "310100"
    RESIDENT_POOLED = "390100"


FUND_PAY_TYPE_BY_INSUTYPE = {InsuType.EMPLOYEE: FundPayType.EMPLOYEE_POOLED,
                             InsuType.RESIDENT: FundPayType.RESIDENT_POOLED}
FUND_PAY_TYPE_NAMES = {FundPayType.EMPLOYEE_POOLED: "职工基本医疗保险统筹基金",
                       FundPayType.RESIDENT_POOLED: "城乡居民基本医疗保险基金"}


def values(codes: type[StrEnum] | tuple[StrEnum, ...]) -> tuple[str, ...]:
    """The plain strings of an enum (or of some of its members), in declaration order."""
    return tuple(member.value for member in codes)


# --- patterns: use them with fullmatch (with match, `$` also matches before a final
# newline, so "A1\n" would pass); ASCII digits only ([0-9], not \d, which takes "５") ------

ADMDVS = re.compile(r"^[0-9]{6}$")  # 行政区划代码 (a region, 6 digits)
CARD_NO = re.compile(r"^[0-9A-Za-z]{1,32}$")  # 社会保障卡号
FIXMEDINS_CODE = re.compile(r"^[0-9A-Za-z]{1,30}$")  # 定点医药机构编码
