"""The hall's window (issue 17): the record shows 险种, 参保状态 and 参保地 (by its name, with
its code); a failed lookup never leaves an older person's data beside its error; the binding
just made is shown, with a receipt (回执) that prints alone; at 375 px nothing is wider than
the screen and no button is cut off (conftest `shoot`)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from helpers import demo, sign_in

pytestmark = pytest.mark.web


def look_up(page: Page, certno: str) -> None:
    page.get_by_label("参保人身份证号码").fill(certno)
    page.get_by_role("button", name="查询").click()


def test_the_record_is_complete_and_a_failed_lookup_hides_the_last_one(page: Page, live_server,
                                                                      shoot):
    people = demo(page, live_server)
    sign_in(page, live_server, "hall", "clerk-542500")
    look_up(page, people["卓玛"]["certno"])
    expect(page.locator("#p-name")).to_have_text("卓玛")
    expect(page.locator("#p-insutype")).to_have_text("职工基本医疗保险")
    expect(page.locator("#p-insu-stas")).to_have_text("正常参保")
    expect(page.locator("#p-admdvs")).to_have_text("西藏阿里地区（542500）")
    # what each counterpart is to 卓玛, from her side
    expect(page.locator("#p-bindings tbody")).to_contain_text("儿子")
    expect(page.locator("#p-bindings tbody")).to_contain_text("母亲")
    shoot("hall-record")

    look_up(page, people["黄丽"]["certno"])  # another region's: not found here
    expect(page.locator("#lookup-certno-error")).to_be_visible()
    expect(page.locator("#person")).to_be_hidden()  # 卓玛's data is not left beside it


def test_a_binding_is_shown_and_its_receipt_prints_alone(page: Page, live_server, shoot):
    people = demo(page, live_server)
    sign_in(page, live_server, "hall", "clerk-542500")
    page.get_by_label("共济人（付款人）身份证号码").fill(people["扎西"]["certno"])
    page.get_by_label("被共济人（使用人）身份证号码").fill(people["次仁央宗"]["certno"])
    page.get_by_label("被共济人是共济人的").select_option("parent")
    for box in page.locator("input[name=doc]").all():
        box.check()
    page.get_by_role("button", name="办理绑定").click()
    expect(page.locator("#toast")).to_contain_text("绑定已办理")

    receipt = page.locator("#receipt")
    expect(receipt).to_be_visible()
    expect(page.locator("#rc-helper")).to_contain_text("扎*（542521")
    expect(page.locator("#rc-beneficiary")).to_contain_text("次仁**")
    expect(page.locator("#rc-relation")).to_have_text(
        "被共济人是共济人的母亲，共济人是被共济人的儿子")
    expect(page.locator("#rc-time")).to_contain_text("年")
    expect(page.locator("#rc-clerk")).to_contain_text("clerk-542500")
    assert people["次仁央宗"]["certno"] not in receipt.inner_text()  # masked on paper
    # the helper's record, with the binding just made
    expect(page.locator("#p-name")).to_have_text("扎西")
    row = page.locator("#p-bindings tbody tr").filter(has_text="次仁**")
    expect(row).to_contain_text("母亲")
    expect(row).to_contain_text("有效")
    shoot("hall-receipt")

    page.emulate_media(media="print")
    expect(receipt).to_be_visible()
    expect(page.locator(".signature")).to_be_visible()
    for hidden in ("#lookup-form", "#bind-form", "#person", "#receipt-print", "header.bar"):
        expect(page.locator(hidden)).to_be_hidden()
    page.emulate_media(media="screen")
    expect(page.locator(".signature")).to_be_hidden()
