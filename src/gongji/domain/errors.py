"""Coded domain errors: a stable code, an HTTP status and a Simplified Chinese message.

Every refusal anywhere in the system is one of these codes, so clients can rely on
the code while people read the message.
"""

from __future__ import annotations

# code -> (HTTP status, message). Messages may hold {placeholders} filled by refuse().
CATALOGUE: dict[str, tuple[int, str]] = {
    # input
    "INVALID_INPUT": (422, "输入不合法：{detail}"),
    "INVALID_AMOUNT": (422, "金额不合法：{detail}"),
    "AMOUNT_MISMATCH": (422, "费用明细与总额不一致：{detail}"),
    "INVALID_CERTNO": (422, "身份证号码不合法：{detail}"),
    "INVALID_RELATION": (422, "亲属关系不合法：{detail}"),
    "INVALID_REGION": (422, "统筹区编码不合法或未配置政策：{detail}"),
    # auth
    "UNAUTHENTICATED": (401, "未提供有效的访问令牌"),
    "TOO_LARGE": (413, "请求过大"),
    "CLIENT_CLOSED_REQUEST": (499, "客户端在请求发送完之前断开了连接"),
    "TOKEN_EXPIRED": (401, "访问令牌已过期"),
    "FORBIDDEN": (403, "当前角色无权执行此操作"),
    "NOT_FOUND": (404, "资源不存在"),
    # reference data
    "PERSON_NOT_FOUND": (404, "参保人员不存在"),
    "INSTITUTION_NOT_FOUND": (404, "定点医药机构不存在"),
    "PERSON_EXISTS": (409, "该身份证号码已登记"),
    "CARD_IN_USE": (409, "社保卡号已被他人使用"),
    "INSTITUTION_EXISTS": (409, "定点医药机构编码已存在"),
    "KINSHIP_CONFLICT": (409, "已登记不同的亲属关系"),
    "NO_ACCOUNT": (409, "该人员没有职工医保个人账户"),
    "CREDIT_REF_CONFLICT": (409, "划入流水号已用于不同的划入"),
    "CREDIT_NOT_FOUND": (404, "划入记录不存在"),
    "CREDIT_ALREADY_REVERSED": (409, "该划入已冲正"),
    "INSUTYPE_MISMATCH": (409, "险种类型与已登记的不同，导入不能变更险种：{detail}"),
    "DUPLICATE_IN_FILE": (422, "文件中重复：{detail}"),
    # binding
    "SELF_BINDING": (422, "不能与本人建立共济关系"),
    "NAME_MISMATCH": (422, "姓名与身份证号码不符"),
    "RELATION_NOT_ADMITTED": (422, "参保地政策不允许该亲属关系共济"),
    "KINSHIP_NOT_VERIFIED": (422, "亲属关系未通过核验"),
    "HELPER_NOT_ELIGIBLE": (422, "共济人不符合条件：{detail}"),
    "BENEFICIARY_NOT_ELIGIBLE": (422, "被共济人不符合条件：{detail}"),
    "BINDING_EXISTS": (409, "双方已存在有效的共济关系"),
    "BINDING_NOT_ACTIVE": (409, "共济关系已解除"),
    "DOCUMENTS_NOT_CHECKED": (422, "窗口办理须核验双方身份证件和社保卡"),
    "CLERK_REGION": (403, "经办人员只能为本统筹区参保人员办理"),
    "INVITATION_NOT_PENDING": (409, "邀请已处理或已失效"),
    "MINOR_CANNOT_CONFIRM": (403, "未成年人不能自行确认，须由登记的父母确认"),
    "ORDER_MISMATCH": (422, "扣款顺序须完整列出全部有效共济关系且不得重复"),
    "INVITATION_NOT_FOUND": (404, "邀请不存在"),
    "BINDING_NOT_FOUND": (404, "共济关系不存在"),
    "INVITATION_EXISTS": (409, "已向该亲属发出待确认的邀请"),
    "CHANNEL_NOT_ALLOWED": (422, "参保地政策未开通该办理渠道：{detail}"),
    # settlement
    "CREDENTIAL_MISMATCH": (422, "就医凭证不是本人的"),
    "INSTITUTION_TYPE": (422, "该交易不适用于此类定点医药机构"),
    "INSTITUTION_MISMATCH": (403, "报文中的定点医药机构编码与令牌不符"),
    "PATIENT_NOT_INSURED": (422, "参保人员参保状态异常，不能结算"),
    "SETTLEMENT_NOT_FOUND": (404, "结算记录不存在"),
    "ALREADY_REVERSED": (409, "该结算已撤销"),
    "MSGID_ALREADY_SETTLED": (409, "该报文号已用于本机构的一笔结算，不再重复结算"),
    "IDEMPOTENCY_CONFLICT": (409, "同一报文号/幂等键已用于不同的请求"),
    "INFNO_UNSUPPORTED": (422, "不支持的交易编号：{detail}"),
    "EVOUCHER_INVALID": (422, "医保电子凭证无效、已过期或已使用"),
    # premium
    "PREMIUM_NOT_BOUND": (422, "未与该亲属建立有效的共济关系"),
    "PREMIUM_NOT_RESIDENT": (422, "该亲属不是城乡居民医保参保人员"),
    "PREMIUM_ALREADY_PAID": (409, "该年度居民医保费已缴纳"),
    "PREMIUM_YEAR_CLOSED": (422, "该年度不在缴费期内"),
    "INSUFFICIENT_BALANCE": (409, "个人账户余额不足"),
    "PREMIUM_NOT_FOUND": (404, "代缴记录不存在"),
    "ACCOUNT_FROZEN": (409, "个人账户已冻结"),
    "CREDIT_SPENT": (409, "划入资金已被使用，不能冲正"),
    "PREMIUM_ALREADY_REVERSED": (409, "该代缴记录已撤销"),
    # queries
    "NOTICE_NOT_FOUND": (404, "通知不存在"),
    # 共济额度 (helper's quota)
    "QUOTA_NOT_ENABLED": (409, "共济人所在统筹区未开通共济额度"),
    "QUOTA_EXCEEDS_BALANCE": (409, "各共济额度的剩余合计不能超过个人账户余额：{detail}"),
    "QUOTA_INSUFFICIENT": (409, "共济额度剩余不足：{detail}"),
    # visits and fee lines (2201–2205, 2206/2207 of a batch, pharmacy drugdetail)
    "VISIT_NOT_FOUND": (404, "就诊记录不存在"),
    "VISIT_SETTLED": (409, "该就诊已有未撤销的结算，不能撤销挂号"),
    "VISIT_CANCELLED": (409, "该就诊已撤销挂号"),
    "BATCH_SETTLED": (409, "该收费批次已结算，费用明细不能变更或再次结算"),
    "NO_FEE_DETAIL": (422, "该收费批次没有待结算的费用明细"),
    "FEEDETL_SN_DUPLICATE": (409, "费用明细流水号重复：{detail}"),
    # inpatient stays (住院: 2401–2405, 2301–2305)
    "STAY_NOT_FOUND": (404, "住院记录不存在"),
    "STAY_STATE": (409, "住院状态不允许此操作：{detail}"),
    "NOT_A_STAY": (409, "该就诊不是住院，请使用门诊交易"),
    "NOT_OUTPATIENT": (409, "该就诊是住院，请使用住院交易（2301–2305）"),
    "MID_SETTLEMENT_UNSUPPORTED": (422, "不支持中途结算（mid_setl_flag 为 1）：请出院后结算"),
    # catalogue (医保目录)
    "INVALID_CATALOGUE_ITEM": (422, "医保目录条目不合法：{detail}"),
    "CATALOGUE_ITEM_NOT_FOUND": (404, "医保目录中没有该项目"),
    # v2 gateway envelope: sign-in (9001/9002) and 2601 冲正
    "SIGN_NO_INVALID": (409, "签到编号无效：不是本机构当前的签到，或已签退、已过期"),
    "MSG_REVERSED": (409, "该报文号已被冲正（2601）作废，不能再使用"),
    # region policies as dated versions
    "INVALID_POLICY": (422, "政策规则不合法，未作任何变更：{detail}"),
    "POLICY_NOT_IN_FORCE": (409, "该统筹区在此日期没有生效的政策版本：{detail}"),
    # sign-in through the province's identity service, OpenID Connect
    "OIDC_NOT_CONFIGURED": (404, "未配置统一身份认证登录"),
    "OIDC_FAILED": (401, "统一身份认证登录未完成：{detail}"),
    "OIDC_NO_IDENTITY": (401, "统一身份认证未提供所需的身份信息：{detail}"),
}


class DomainError(Exception):
    """A refusal with a stable code; nothing has been changed when it is raised."""

    def __init__(self, code: str, message: str | None = None, *, status: int | None = None):
        default_status, template = CATALOGUE.get(code, (422, code))
        self.code = code
        self.message = message or template.replace("：{detail}", "")
        self.status = status or default_status
        super().__init__(f"{code}: {self.message}")


def refuse(code: str, detail: str | None = None) -> DomainError:
    """Build the error for a catalogued code, filling in the detail when the message has one."""
    status, template = CATALOGUE[code]
    if "{detail}" in template:
        message = template.format(detail=detail) if detail else template.replace("：{detail}", "")
    else:
        message = template if not detail else f"{template}（{detail}）"
    return DomainError(code, message, status=status)


class InvariantViolation(RuntimeError):
    """A money invariant failed in code. Raised (never `assert`) so `-O` cannot strip it."""


def ensure(condition: bool, what: str) -> None:
    if not condition:
        raise InvariantViolation(what)
