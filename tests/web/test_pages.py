"""The hall console, the counter's refusals and reversal, the e-voucher QR, labels and
keyboard-only use."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from helpers import demo, go, hospital_batch, open_counter, read_credential, sign_in

pytestmark = pytest.mark.web


def test_hall_clerk_looks_up_binds_with_checklist_and_unbinds(page: Page, live_server, shoot):
    people = demo(page, live_server)
    sign_in(page, live_server, "hall", "clerk-542500")
    page.get_by_label("参保人身份证号码").fill("123")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#lookup-certno-error")).to_contain_text("身份证号码不合法")
    expect(page.locator("#lookup-certno")).to_have_attribute("aria-invalid", "true")

    page.get_by_label("参保人身份证号码").fill(people["卓玛"]["certno"])
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#p-name")).to_have_text("卓玛")
    expect(page.locator("#p-balance")).to_have_text("1200.00")
    expect(page.locator("#p-bindings tbody tr")).to_have_count(2)

    page.get_by_label("共济人（付款人）身份证号码").fill(people["扎西"]["certno"])
    page.get_by_label("被共济人（使用人）身份证号码").fill(people["次仁央宗"]["certno"])
    page.get_by_label("被共济人是共济人的").select_option("parent")
    page.get_by_role("button", name="办理绑定").click()
    expect(page.locator("#bind-form-error")).to_contain_text("社保卡")  # checklist not ticked
    for box in page.locator("input[name=doc]").all():
        box.check()
    page.get_by_role("button", name="办理绑定").click()
    expect(page.locator("#toast")).to_contain_text("绑定已办理")
    shoot("hall")

    page.get_by_label("参保人身份证号码").fill(people["扎西"]["certno"])
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#p-name")).to_have_text("扎西")
    expect(page.locator("#p-bindings tbody")).to_contain_text("有效")
    page.get_by_role("button", name="窗口解绑").click()
    page.get_by_label("已核验双方有效身份证件").check()
    page.get_by_role("button", name="确认解绑").click()
    expect(page.locator("#p-bindings tbody")).to_contain_text("已解绑")


def test_counter_shows_refusals_next_to_the_cause_and_reverses_once(page: Page, live_server, shoot):
    people = demo(page, live_server)
    open_counter(page, live_server, "阿里地区人民医院")
    read_credential(page, "02", "542521195001090000")
    expect(page.locator("#cert-no-error")).to_be_visible()
    read_credential(page, "03", "ALI0003")
    expect(page.locator("#pt-name")).to_have_text(people["平措"]["psn_name"])
    page.get_by_role("button", name="门诊挂号").click()
    page.get_by_label("医保目录编码或名称").fill("NO-SUCH-CODE")
    page.get_by_role("button", name="查询目录").click()
    expect(page.locator("#item-q-error")).to_contain_text("医保目录中没有该项目")
    expect(page.locator("#item-q")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("医保目录编码或名称").fill("ZZ9999990000001")
    page.get_by_role("button", name="查询目录").click()
    page.get_by_label("数量").fill("0")
    page.get_by_label("单价（元）").fill("80")
    page.get_by_role("button", name="加入明细").click()
    expect(page.locator("#cnt-error")).to_contain_text("数量须为正数")
    page.get_by_label("数量").fill("1")
    page.get_by_role("button", name="加入明细").click()
    page.get_by_role("button", name="上传明细").click()
    batch = page.locator(".batch").last
    batch.get_by_role("button", name="预结算").click()
    expect(page.locator("#r-kind")).to_contain_text("未扣款")
    batch.get_by_role("button", name="结算", exact=True).click()
    expect(page.locator("#r-kind")).to_have_text("门诊结算单")
    expect(page.locator("#r-mulaid")).to_have_text("80.00")
    shoot("counter")
    setl_id = page.locator("#r-setl").inner_text()
    for _ in range(2):  # typed, never pre-filled: the second time it is already reversed
        page.get_by_label("结算编号").fill(setl_id)
        page.get_by_label("人员编号").fill(people["平措"]["psn_no"])
        page.get_by_role("button", name="撤销", exact=True).click()
        expect(page.locator("#reversal")).to_contain_text("80.00")
    expect(page.locator("#rev-setl-error")).to_contain_text("已撤销")


def test_evoucher_qr_is_read_at_the_counter_once(page: Page, live_server):
    sign_in(page, live_server, "portal", "平措")
    go(page, "evoucher")
    page.get_by_role("button", name="生成电子凭证").click()
    qr = page.locator("#evoucher-qr")
    expect(qr).to_be_visible()
    # A function, not an expression: Playwright evals an expression in the page, which the
    # pages' Content-Security-Policy (no unsafe-eval) refuses.
    page.wait_for_function("() => document.getElementById('evoucher-qr').naturalWidth > 0")
    token = page.locator("#evoucher-token").inner_text()

    open_counter(page, live_server, "阿里地区人民医院")
    read_credential(page, "01", token)
    expect(page.locator("#pt-name")).to_have_text("平措")
    batch = hospital_batch(page, "10.00")
    batch.get_by_role("button", name="结算", exact=True).click()
    expect(page.locator("#r-kind")).to_have_text("门诊结算单")
    page.get_by_role("button", name="下一位").click()
    read_credential(page, "01", token)
    expect(page.locator("#cert-no-error")).to_be_visible()  # used once already
    expect(page.locator("#patient")).to_be_hidden()
    expect(page.locator("#sale")).to_be_hidden()


@pytest.mark.parametrize(("path", "who"), [("portal", "卓玛"), ("hall", "clerk-542500"),
                                           ("counter", "狮泉河大药房")])
def test_every_input_has_a_label(page: Page, live_server, path, who):
    sign_in(page, live_server, path, who)
    unlabeled = page.evaluate("""() => [...document.querySelectorAll('input, select, textarea')]
        .filter((e) => e.type !== 'hidden' && e.labels.length === 0 && !e.getAttribute('aria-label'))
        .map((e) => e.id || e.name)""")
    assert unlabeled == []


def test_counter_works_by_keyboard_alone(page: Page, live_server):
    people = demo(page, live_server)
    page.goto(f"{live_server}/counter")
    page.evaluate("sessionStorage.clear()")
    page.goto(f"{live_server}/counter")
    target = page.get_by_role("button", name="狮泉河大药房（P54250001）")
    target.wait_for()
    for _ in range(30):  # Tab until the pharmacy's sign-in button has focus
        page.keyboard.press("Tab")
        if target.evaluate("(e) => e === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#app")).to_be_visible()
    expect(page.locator("#opter-no")).to_be_focused()
    page.keyboard.type("S001")
    page.keyboard.press("Enter")  # 9001
    expect(page.locator("#cert-type")).to_be_focused()
    page.keyboard.press("ArrowDown")  # 01 → 02 居民身份证
    page.keyboard.press("Tab")
    page.keyboard.type(people["次仁央宗"]["certno"])
    page.keyboard.press("Enter")
    expect(page.locator("#pt-name")).to_have_text("次仁央宗")
    expect(page.locator("#item-q")).to_be_focused()
    page.keyboard.type("ZZ9999990000001")
    page.keyboard.press("Enter")  # an exact code is taken at once
    expect(page.locator("#pric")).to_be_focused()
    page.keyboard.type("12.50")
    page.keyboard.press("Enter")
    expect(page.locator("#item-q")).to_be_focused()
    for _ in range(10):  # Tab on to the 结算 button
        page.keyboard.press("Tab")
        if page.locator("#settle").evaluate("(e) => e === document.activeElement"):
            break
    page.keyboard.press("Enter")
    expect(page.locator("#r-kind")).to_have_text("药店购药结算单")
    expect(page.locator("#r-mulaid")).to_have_text("12.50")
