"""The counter (收费台) on the real v2 flow, in Chromium, at 375 and 1280 px, in both browser
zones: a hospital day (sign-in, credential, registration, lines by catalogue code with the
centre's classification, a batch deleted, pre-settlement, settlement, slip) and a pharmacy
sale (lines, classification, a settlement whose answer is lost and that the cashier clicks
again, slip, reversal typed into an empty form). axe-core finds nothing serious."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, Route, expect

from a11y import no_blocking_violations
from helpers import add_line, demo, open_counter, read_credential, settlements_of, sign_in, text_of

pytestmark = pytest.mark.web
# The server's clock: 23:30 Beijing time, so the slip's time is known whatever the zone.
BEIJING_2330 = "2026-11-30T23:30:00+08:00"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # as conftest's
SLIP_TIME = re.compile(r"时间\s*2026-11-30 23:3\d:\d\d 北京时间")


@pytest.mark.parametrize("server_now", [BEIJING_2330], ids=["beijing-2330"])
def test_a_hospital_day_at_the_counter(page: Page, live_server, shoot, server_now):
    people = demo(page, live_server)
    open_counter(page, live_server, "阿里地区人民医院", opter="S007")
    expect(page.locator("#me-opter")).to_contain_text("签到编号")
    read_credential(page, "03", "ALI0003")  # 平措's social-security card
    expect(page.locator("#pt-name")).to_have_text("平措")
    expect(page.locator("#sale")).to_be_hidden()  # a hospital registers the visit first
    page.get_by_role("button", name="门诊挂号").click()
    expect(page.locator("#pt-mdtrt")).not_to_have_text("未挂号")

    # A batch entered by mistake is uploaded, then deleted (2205).
    add_line(page, "ZZ9999990000001", "1", "5")
    page.get_by_role("button", name="上传明细").click()
    first = page.locator("#batch-01")
    expect(first).to_contain_text("丙类：全自费 5.00")
    first.get_by_role("button", name="删除本批明细").click()
    expect(first).to_have_count(0)

    # The lookup shows the class and the price limit; the centre's answer classifies.
    page.get_by_label("医保目录编码或名称").fill("001201000010000")
    page.get_by_role("button", name="查询目录").click()
    expect(page.locator("#it-name")).to_have_text("普通门诊诊查费")
    expect(page.locator("#it-lv")).to_have_text("甲类")
    expect(page.locator("#it-limit")).to_have_text("10")
    page.get_by_label("单价（元）").fill("12")
    page.get_by_role("button", name="加入明细").click()
    add_line(page, "连花", "2", "14.8")  # by name
    add_line(page, "ZZ9999990000001", "1", "30")
    expect(page.locator("#draft-total")).to_have_text("71.60")
    page.get_by_role("button", name="上传明细").click()
    batch = page.locator("#batch-02")
    expect(batch).to_contain_text("甲类：超限价 2.00，范围内 10.00")
    expect(batch).to_contain_text("乙类：先行自付 5.92，范围内 23.68")
    expect(batch).to_contain_text("丙类：全自费 30.00")
    shoot("counter-hospital-batch")
    no_blocking_violations(page, "counter hospital batch")

    batch.get_by_role("button", name="预结算").click()
    expect(page.locator("#r-kind")).to_contain_text("未扣款")
    expect(page.locator("#print")).to_be_hidden()
    assert settlements_of(page, live_server, "平措") == []
    batch.get_by_role("button", name="结算", exact=True).dblclick()  # settles once
    expect(page.locator("#r-kind")).to_have_text("门诊结算单")
    expect(batch).to_contain_text("已结算")
    settled = settlements_of(page, live_server, "平措")
    assert len(settled) == 1
    setl = settled[0]
    assert setl["medfee_sumamt"] == 71.6

    text = text_of(page)
    for expected in ("阿里地区人民医院", "机构编码 H54250001", f"结算编号 {setl['setl_id']}",
                     "患者 平*", "险种 城乡居民基本医疗保险", "普通门诊诊查费 12.00",
                     "连花清瘟胶囊 29.60", "医用护肤霜 30.00", "医疗费总额 71.60",
                     f"统筹基金支付 {setl['fund_pay_sumamt']:.2f}", "个人账户支付 0.00",
                     f"家庭共济支付 {setl['acct_mulaid_pay']:.2f}",
                     f"现金支付 {setl['psn_cash_pay']:.2f}", "收费员 S007"):
        assert expected in text, (expected, text)
    assert SLIP_TIME.search(text), text
    # each helper as 平措 reads it: 卓玛 is his mother
    helper = setl["mulaid_detail"][0]
    assert f"母亲 卓* 账户支付 {helper['amount']:.2f}" in text, text
    assert people["卓玛"]["psn_no"]  # the helper the demo binds first
    expect(page.locator("#rev-setl")).to_have_value("")  # never pre-filled
    expect(page.locator("#rev-psn")).to_have_value("")
    shoot("counter-hospital-slip")
    no_blocking_violations(page, "counter hospital slip")


def lose_the_first_answer(page: Page) -> list[str]:
    """The first 2102 reaches the server, but its answer never reaches the page."""
    seen: list[str] = []

    def handle(route: Route) -> None:
        body = route.request.post_data_json
        if body.get("infno") != "2102":
            route.continue_()
            return
        seen.append(body["msgid"])
        if len(seen) == 1:
            route.fetch()  # the server settles …
            route.abort("connectionreset")  # … and the answer is lost on the way back
        else:
            route.continue_()

    page.route("**/fsi/api/rsfComIfsService/callService", handle)
    return seen


@pytest.mark.parametrize("server_now", [BEIJING_2330], ids=["beijing-2330"])
def test_a_pharmacy_sale_its_slip_and_its_reversal(page: Page, live_server, shoot, server_now):
    people = demo(page, live_server)
    open_counter(page, live_server, "狮泉河大药房", opter="S002")
    read_credential(page, "02", people["次仁央宗"]["certno"])
    expect(page.locator("#pt-name")).to_have_text("次仁央宗")
    expect(page.get_by_role("button", name="门诊挂号")).to_be_hidden()
    # 阿托伐他汀钙片: 乙类 10%, limit 3.0325 a unit: 28 × 3.50 = 98.00, 84.91 within the limit
    add_line(page, "XC10AAA187A001010104069", "28", "3.5")
    expect(page.locator("#draft")).to_contain_text("待中心分类")
    page.get_by_role("button", name="预结算").click()
    expect(page.locator("#draft")).to_contain_text("乙类：超限价 13.09，先行自付 8.49，范围内 76.42")
    expect(page.locator("#r-kind")).to_contain_text("未扣款")

    sent = lose_the_first_answer(page)
    page.get_by_role("button", name="结算", exact=True).click()
    expect(page.locator("#sale-error")).to_contain_text("网络")
    page.get_by_role("button", name="结算", exact=True).click()  # the cashier clicks again
    expect(page.locator("#r-kind")).to_have_text("药店购药结算单")
    assert len(sent) == 2 and sent[0] == sent[1]  # the same message both times
    settled = settlements_of(page, live_server, "次仁央宗")
    assert len(settled) == 1  # settled once
    setl = settled[0]
    text = text_of(page)
    for expected in ("狮泉河大药房", "机构编码 P54250001", f"结算编号 {setl['setl_id']}",
                     "患者 次仁**", "险种 城乡居民基本医疗保险", "阿托伐他汀钙片 98.00",
                     "28 × 3.5 乙类", "医疗费总额 98.00", "收费员 S002",
                     f"女儿 卓* 账户支付 {setl['mulaid_detail'][0]['amount']:.2f}"):
        assert expected in text, (expected, text)
    assert SLIP_TIME.search(text), text
    expect(page.locator("#draft tbody tr")).to_have_count(0)  # the next sale starts empty
    expect(page.locator("#rev-setl")).to_have_value("")
    expect(page.locator("#rev-psn")).to_have_value("")
    shoot("counter-pharmacy-slip")
    no_blocking_violations(page, "counter pharmacy slip")

    page.unroute("**/fsi/api/rsfComIfsService/callService")
    page.get_by_label("结算编号").fill(setl["setl_id"])
    page.get_by_label("人员编号").fill(people["次仁央宗"]["psn_no"])
    page.get_by_role("button", name="撤销", exact=True).click()
    expect(page.locator("#reversal")).to_be_visible()
    reversal = text_of(page, "#reversal")
    for expected in (f"结算编号 {setl['setl_id']}", "医疗费总额 98.00",
                     f"女儿 卓* 账户退回 {setl['mulaid_detail'][0]['amount']:.2f}"):
        assert expected in reversal, (expected, reversal)
    assert settlements_of(page, live_server, "次仁央宗")[0]["reversed"] is True
    page.get_by_label("结算编号").fill(setl["setl_id"])
    page.get_by_label("人员编号").fill(people["次仁央宗"]["psn_no"])
    page.get_by_role("button", name="撤销", exact=True).click()
    expect(page.locator("#rev-setl-error")).to_contain_text("已撤销")
    expect(page.locator("#rev-setl")).to_have_attribute("aria-invalid", "true")
    shoot("counter-pharmacy-reversed")


@pytest.mark.parametrize("server_now", [BEIJING_2330], ids=["beijing-2330"])
def test_the_slip_prints_on_an_80_mm_roll(page: Page, live_server, server_now, browser_zone):
    people = demo(page, live_server)
    open_counter(page, live_server, "狮泉河大药房")
    read_credential(page, "02", people["次仁央宗"]["certno"])
    setl_ids: list[str] = []
    for sale in (1, 2):  # the same bill again is a new sale: a new message, settled anew
        add_line(page, "ZZ9999990000001", "1", "20")
        page.get_by_role("button", name="结算", exact=True).click()
        expect(page.locator("#r-kind")).to_have_text("药店购药结算单")
        expect(page.locator("#r-setl")).not_to_have_text(setl_ids[-1] if setl_ids else "—")
        setl_ids.append(page.locator("#r-setl").inner_text())
        assert len(settlements_of(page, live_server, "次仁央宗")) == sale
    page.emulate_media(media="print")
    expect(page.locator("#result")).to_be_visible()
    for hidden in ("#sale", "#reverse-form", "#print", ".bar"):
        expect(page.locator(hidden)).to_be_hidden()
    pdf = page.pdf(prefer_css_page_size=True)
    zone = browser_zone.split("/")[-1].lower()
    (SHOTS / f"counter-slip-80mm-{zone}.pdf").write_bytes(pdf)
    page.set_viewport_size({"width": 302, "height": 900})  # 80 mm at 96 dpi
    page.screenshot(path=str(SHOTS / f"counter-slip-80mm-{zone}.png"), full_page=True)
    pages = [(round(float(w) * 25.4 / 72), float(h) * 25.4 / 72) for w, h in
             re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]
    # one page, 80 mm wide, as long as the slip (not the 200 mm fallback)
    assert len(pages) == 1 and pages[0][0] == 80 and 60 < pages[0][1] < 180, pages


def test_a_sign_in_no_longer_current_asks_the_cashier_to_sign_in_again(page: Page, live_server,
                                                                       shoot):
    people = demo(page, live_server)
    sign_in(page, live_server, "counter", "狮泉河大药房")
    expect(page.locator("#opter-no")).to_be_focused()
    shoot("counter-cashier-sign-in")
    no_blocking_violations(page, "counter cashier sign-in")
    page.get_by_label("收费员工号").fill("S003")
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#desk")).to_be_visible()
    sign_no = re.search(r"签到编号 (\S+)", page.locator("#me-opter").inner_text()).group(1)
    identities = page.request.get(f"{live_server}/web/demo/identities").json()
    token = next(i["token"] for i in identities["institutions"]
                 if i["fixmedins_code"] == "P54250001")
    signed_out = page.request.post(  # signed out elsewhere (9002)
        f"{live_server}/fsi/api/rsfComIfsService/callService",
        headers={"Authorization": f"Bearer {token}"},
        data={"infno": "9002", "msgid": "P54250001-signout-1", "fixmedins_code": "P54250001",
              "mdtrtarea_admvs": "", "insuplc_admdvs": "", "opter": "S003",
              "inf_time": "2026-11-30 12:00:00",
              "input": {"signOut": {"sign_no": sign_no, "opter_no": "S003"}}}).json()
    assert signed_out["infcode"] == 0, signed_out
    read_credential(page, "02", people["次仁央宗"]["certno"])
    expect(page.locator("#read-form-error")).to_contain_text("签到编号无效")
    expect(page.locator("#opter-form-error")).to_contain_text("请重新签到")
    no_blocking_violations(page, "counter sign-in lapsed")
    page.get_by_role("button", name="签到").click()  # the number is still in the field
    expect(page.locator("#opter-form")).to_be_hidden()
    expect(page.locator("#me-opter")).not_to_contain_text(sign_no)
    page.get_by_role("button", name="读取").click()
    expect(page.locator("#pt-name")).to_have_text("次仁央宗")
