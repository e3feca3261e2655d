"""axe-core (the copy the axe-playwright-python package ships) finds no serious or critical
violation on any page: index, sign-in, portal (every panel and the "更多" sheet), hall (a
record and a receipt), counter (a settlement) and reports, at 375 and 1280 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from a11y import blocking_violations
from helpers import demo, fill_bill, go, open_counter, read_credential, sign_in

pytestmark = pytest.mark.web
WIDTHS = (375, 1280)


def check(page: Page, where: str) -> None:
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": 900})
        found = blocking_violations(page)
        assert not found, f"{where} at {width} px: {found}"


@pytest.mark.parametrize("path", ["", "portal", "hall", "counter", "inpatient", "reports"])
def test_index_and_sign_in_pages(page: Page, live_server, path):
    page.goto(f"{live_server}/{path}")
    expect(page.locator("main")).to_be_visible()
    if path:
        expect(page.locator("#demo-list button").first).to_be_visible()
    check(page, path or "index")


def test_portal_every_panel_and_the_sheet(page: Page, live_server):
    sign_in(page, live_server, "portal", "卓玛")
    check(page, "portal account")
    page.locator("#more-open").click()
    expect(page.locator("#more-sheet")).to_be_visible()
    check(page, "portal more sheet")
    page.keyboard.press("Escape")
    for tab in ("bindings", "evoucher", "notices", "invite", "invitations", "settlements"):
        go(page, tab)
        check(page, f"portal {tab}")
    go(page, "evoucher")
    page.get_by_role("button", name="生成电子凭证").click()
    expect(page.locator("#evoucher")).to_be_visible()
    check(page, "portal evoucher shown")


def test_hall_with_a_record_and_a_receipt(page: Page, live_server):
    people = demo(page, live_server)
    sign_in(page, live_server, "hall", "clerk-542500")
    page.get_by_label("参保人身份证号码").fill(people["卓玛"]["certno"])
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#person")).to_be_visible()
    check(page, "hall record")
    page.get_by_label("共济人（付款人）身份证号码").fill(people["扎西"]["certno"])
    page.get_by_label("被共济人（使用人）身份证号码").fill(people["次仁央宗"]["certno"])
    page.get_by_label("被共济人是共济人的").select_option("parent")
    for box in page.locator("input[name=doc]").all():
        box.check()
    page.get_by_role("button", name="办理绑定").click()
    expect(page.locator("#receipt")).to_be_visible()
    check(page, "hall receipt")


def test_counter_after_a_settlement(page: Page, live_server):
    people = demo(page, live_server)
    sign_in(page, live_server, "counter", "狮泉河大药房")
    check(page, "counter")
    open_counter(page, live_server, "狮泉河大药房")
    read_credential(page, "02", people["次仁央宗"]["certno"])
    fill_bill(page, "20.00")
    page.get_by_role("button", name="结算", exact=True).click()
    expect(page.locator("#r-kind")).to_have_text("药店购药结算单")
    check(page, "counter settled")


def test_reports(page: Page, live_server):
    sign_in(page, live_server, "reports", "clerk-542500")
    expect(page.locator("#report")).to_be_visible()
    check(page, "reports")


def test_the_check_finds_what_it_should(page: Page):
    """The check is not blind: a nameless button and an image without alt are reported."""
    page.set_content('<html lang="zh-CN"><head><title>t</title></head><body><main>'
                     '<button></button><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=">'
                     '</main></body></html>')
    found = " ".join(blocking_violations(page))
    assert "button-name" in found and "image-alt" in found
