"""The admission office (住院处, issue 15) in Chromium, at 375 and 1280 px, in both browser
zones: a whole stay through the page — sign-in (9001), credential (1101), admission (2401),
lines by catalogue code with the centre's classification (2301), one line and then all removed
(2302), discharge (2402) and its cancellation (2405), pre-settlement (2303), settlement (2304)
paid by the pooled fund, two helpers and cash, the 80 mm slip with the stay's dates and each
helper as the patient calls them, a reversal typed into an empty form (2305), then the
discharge and the admission cancelled (2405, 2404). A pharmacy is told the page is not for it;
退出 signs the operator out at the centre (9002) on this page and on the counter. axe-core
finds nothing serious or critical."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from a11y import no_blocking_violations
from helpers import add_line, printed_pages_mm, read_credential, settlements_of, sign_in, text_of

pytestmark = pytest.mark.web
# The server's clock: 23:30 Beijing time, so the stay's dates are known whatever the zone.
BEIJING_2330 = "2026-11-30T23:30:00+08:00"
STAMP = r"2026-11-30 23:3\d:\d\d"
BLOOD, CT, CREAM = "002502010010000", "002103000010000", "ZZ9999990000001"  # 甲类, 乙类 限价 150, 丙类


def sign_in_number(page: Page) -> str:
    """The operator's sign-in number (9001), once the header shows it."""
    expect(page.locator("#me-opter")).to_contain_text("签到编号")
    return re.search(r"签到编号 (\S+)", page.locator("#me-opter").inner_text()).group(1)


def open_office(page: Page, base: str, opter: str = "ZY01") -> str:
    """The hospital signed in, then its operator (9001); the sign-in number."""
    sign_in(page, base, "inpatient", "阿里地区人民医院")
    page.get_by_label("经办人工号").fill(opter)
    page.get_by_label("经办人姓名（可不填）").fill("央金")
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#desk")).to_be_visible()
    return sign_in_number(page)


def admit(page: Page) -> None:
    page.get_by_label("入院科室编码").fill("A03")
    page.get_by_label("入院科室名称").fill("内科")
    page.get_by_label("主治医师编码").fill("D0101")
    page.get_by_label("主治医师姓名").fill("格桑")
    page.get_by_label("入院诊断编码").fill("J18.900")
    page.get_by_label("入院诊断名称").fill("肺炎")
    page.get_by_role("button", name="办理入院").click()
    expect(page.locator("#st-state")).to_have_text("在院")


def upload(page: Page, count: int) -> None:
    page.get_by_role("button", name="上传明细").click()
    expect(page.locator("#uploaded tbody tr")).to_have_count(count)


def discharge(page: Page) -> None:
    page.get_by_role("button", name="办理出院").click()
    expect(page.locator("#st-state")).to_have_text("已出院，待结算")


@pytest.mark.parametrize("server_now", [BEIJING_2330], ids=["beijing-2330"])
def test_a_whole_stay_at_the_admission_office(page: Page, live_server, shoot, server_now):
    open_office(page, live_server)
    read_credential(page, "03", "ALI0003")  # 平措's card; his mother and father help him
    expect(page.locator("#pt-name")).to_have_text("平措")
    page.get_by_label("入院科室编码").fill("")
    page.get_by_role("button", name="办理入院").click()  # an empty field, said next to it
    expect(page.locator("#dept-code-error")).to_have_text("请输入入院科室编码")
    no_blocking_violations(page, "inpatient admission")
    admit(page)
    mdtrt_id = page.locator("#st-mdtrt").inner_text()
    assert mdtrt_id
    expect(page.locator("#st-begn")).to_have_text(re.compile(STAMP))

    # Lines entered by mistake: one removed by its number, then every unsettled one ("0000").
    add_line(page, CREAM, "1", "5")
    add_line(page, BLOOD, "1", "20")
    upload(page, 2)
    expect(page.locator("#uploaded")).to_contain_text("丙类：全自费 5.00")
    page.get_by_role("button", name="撤销明细 0001 医用护肤霜").click()
    expect(page.locator("#uploaded tbody tr")).to_have_count(1)
    page.get_by_role("button", name="撤销全部未结算明细").click()
    expect(page.locator("#uploaded tbody tr")).to_have_count(0)

    add_line(page, BLOOD, "1", "600")
    add_line(page, CT, "1", "180")
    add_line(page, CREAM, "1", "800")
    expect(page.locator("#draft-total")).to_have_text("1580.00")
    upload(page, 3)
    uploaded = page.locator("#uploaded")
    expect(uploaded).to_contain_text("甲类：范围内 600.00")
    expect(uploaded).to_contain_text("乙类：超限价 30.00，先行自付 30.00，范围内 120.00")
    expect(uploaded).to_contain_text("丙类：全自费 800.00")
    expect(page.locator("#uploaded-total")).to_have_text("1580.00")
    shoot("inpatient-lines")
    no_blocking_violations(page, "inpatient lines")

    discharge(page)
    page.get_by_role("button", name="出院撤销").click()  # 2405: back in hospital
    expect(page.locator("#st-state")).to_have_text("在院")
    expect(page.locator("#st-end")).to_have_text("在院")
    discharge(page)
    expect(page.locator("#st-end")).to_have_text(re.compile(STAMP))
    expect(page.locator("#bill-total")).to_have_text("1580.00")

    page.get_by_role("button", name="预结算").click()
    expect(page.locator("#r-kind")).to_contain_text("未扣款")
    expect(page.locator("#print")).to_be_hidden()
    assert settlements_of(page, live_server, "平措") == []
    page.get_by_role("button", name="结算", exact=True).dblclick()  # settles once
    expect(page.locator("#r-kind")).to_have_text("住院结算单")
    expect(page.locator("#st-state")).to_have_text("已结算")
    settled = settlements_of(page, live_server, "平措")
    assert len(settled) == 1
    setl = settled[0]
    assert setl["medfee_sumamt"] == 1580
    assert setl["acct_mulaid_pay"] > 0 and len(setl["mulaid_detail"]) == 2, setl

    text = text_of(page, "#result")
    for expected in ("阿里地区人民医院", "机构编码 H54250001", f"结算编号 {setl['setl_id']}",
                     "患者 平*", "险种 城乡居民基本医疗保险", f"就诊编号 {mdtrt_id}", "科室 内科",
                     "住院天数 1 天", "血细胞分析（血常规） 600.00",
                     "X线计算机体层（CT）平扫 180.00", "医用护肤霜 800.00", "医疗费总额 1580.00",
                     f"统筹基金支付 {setl['fund_pay_sumamt']:.2f}", "个人账户支付 0.00",
                     f"家庭共济支付 {setl['acct_mulaid_pay']:.2f}",
                     f"现金支付 {setl['psn_cash_pay']:.2f}", "经办人 央金（ZY01）"):
        assert expected in text, (expected, text)
    for label in ("入院", "出院", "时间"):
        assert re.search(rf"{label} {STAMP}", text), (label, text)
    # each helper as 平措 reads it: his mother first, then his father
    mother, father = setl["mulaid_detail"]
    assert f"母亲 卓* 账户支付 {mother['amount']:.2f}" in text, text
    assert f"父亲 达* 账户支付 {father['amount']:.2f}" in text, text
    for empty in ("#rev-setl", "#rev-mdtrt", "#rev-psn"):  # never pre-filled
        expect(page.locator(empty)).to_have_value("")
    shoot("inpatient-slip")
    no_blocking_violations(page, "inpatient slip")

    page.emulate_media(media="print")
    expect(page.locator("#result")).to_be_visible()
    for hidden in ("#fees", "#reverse-form", "#print", ".bar", "#stay"):
        expect(page.locator(hidden)).to_be_hidden()
    sheets = printed_pages_mm(page)  # one 80 mm roll as long as the slip, not the fallback
    assert len(sheets) == 1 and sheets[0][0] == 80 and 60 < sheets[0][1] < 199, sheets
    page.emulate_media(media="screen")

    # 2305, typed by the operator; the stay is discharged and unsettled again.
    page.get_by_label("结算编号").fill(setl["setl_id"])
    page.get_by_label("就诊编号").fill(mdtrt_id)
    page.get_by_label("人员编号").fill(page.locator("#pt-psn").inner_text())
    page.get_by_label("结算编号").fill("S00000000000000")  # no such settlement: said at its field
    page.get_by_role("button", name="撤销", exact=True).click()
    expect(page.locator("#rev-setl-error")).to_have_text("结算记录不存在")
    expect(page.locator("#rev-setl")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("结算编号").fill(setl["setl_id"])
    page.get_by_role("button", name="撤销", exact=True).click()
    expect(page.locator("#reversal")).to_be_visible()
    reversal = text_of(page, "#reversal")
    assert f"母亲 卓* 账户退回 {mother['amount']:.2f}" in reversal, reversal
    assert "个人账户退回 0.00" in reversal, reversal
    assert settlements_of(page, live_server, "平措")[0]["reversed"] is True
    for empty in ("#rev-setl", "#rev-mdtrt", "#rev-psn"):
        expect(page.locator(empty)).to_have_value("")
    expect(page.locator("#st-state")).to_have_text("已出院，待结算")

    page.get_by_role("button", name="出院撤销").click()  # 2405, then 2404
    expect(page.locator("#st-state")).to_have_text("在院")
    page.get_by_role("button", name="入院撤销").click()
    expect(page.locator("#toast")).to_contain_text("入院登记已撤销")
    expect(page.locator("#stay")).to_be_hidden()
    expect(page.locator("#admit-form")).to_be_visible()  # the patient may be admitted again
    shoot("inpatient-cancelled")


def test_a_pharmacy_is_told_the_office_is_not_for_it(page: Page, live_server, shoot):
    sign_in(page, live_server, "inpatient", "狮泉河大药房")
    expect(page.locator("#not-hospital")).to_contain_text("住院处仅供定点医疗机构使用")
    for hidden in ("#opter-form", "#desk", "#reverse-form"):
        expect(page.locator(hidden)).to_be_hidden()
    shoot("inpatient-pharmacy")
    no_blocking_violations(page, "inpatient for a pharmacy")


def gateway_sign_no_valid(page: Page, base: str, code: str, sign_no: str) -> bool:
    """Whether the centre still takes this sign-in number (a 1101 carrying it)."""
    identities = page.request.get(f"{base}/web/demo/identities").json()
    token = next(i["token"] for i in identities["institutions"] if i["fixmedins_code"] == code)
    answer = page.request.post(
        f"{base}/fsi/api/rsfComIfsService/callService",
        headers={"Authorization": f"Bearer {token}"},
        data={"infno": "1101", "msgid": f"{code}-probe-{sign_no}", "fixmedins_code": code,
              "mdtrtarea_admvs": "", "insuplc_admdvs": "", "opter": "probe", "sign_no": sign_no,
              "inf_time": "2026-11-30 12:00:00",
              "input": {"data": {"mdtrt_cert_type": "03", "mdtrt_cert_no": "ALI0003"}}}).json()
    if answer["infcode"] != 0:
        assert answer["err_code"] == "SIGN_NO_INVALID", answer
    return answer["infcode"] == 0


def test_signing_out_ends_the_sign_in_at_the_centre(page: Page, live_server):
    sign_no = open_office(page, live_server)
    # the counter's header leads here for a hospital, with the same institution token
    page.goto(f"{live_server}/counter")
    expect(page.locator("#inpatient-link")).to_be_visible()
    page.locator("#inpatient-link").click()
    expect(page.locator("#app")).to_be_visible()
    page.get_by_label("经办人工号").fill("ZY02")
    page.get_by_role("button", name="签到").click()
    second = sign_in_number(page)
    assert gateway_sign_no_valid(page, live_server, "H54250001", second)
    page.get_by_role("button", name="退出").click()  # 9002, then the token is forgotten
    expect(page.locator("#signin")).to_be_visible()
    assert not gateway_sign_no_valid(page, live_server, "H54250001", second)
    assert gateway_sign_no_valid(page, live_server, "H54250001", sign_no)  # not this page's

    page.goto(f"{live_server}/counter")  # the counter's 退出 does the same
    page.get_by_role("button", name=re.compile("阿里地区人民医院")).click()
    page.get_by_label("收费员工号").fill("S001")
    page.get_by_role("button", name="签到").click()
    counter = sign_in_number(page)
    page.get_by_role("button", name="退出").click()
    expect(page.locator("#signin")).to_be_visible()
    assert not gateway_sign_no_valid(page, live_server, "H54250001", counter)
