"""The full journey across the three pages in real Chromium:
invite → accept → order → settle at the counter → the helper sees the debit and the
chart → unbind → the next settlement charges that helper nothing."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.web


def demo(page: Page, base: str) -> dict:
    data = page.request.get(f"{base}/web/demo/identities").json()
    return {p["psn_name"]: p for p in data["persons"]}


def sign_in(page: Page, base: str, path: str, label: str) -> None:
    page.goto(f"{base}/{path}")
    page.evaluate("sessionStorage.clear()")
    page.goto(f"{base}/{path}")
    page.get_by_role("button", name=re.compile(label)).click()
    expect(page.locator("#app")).to_be_visible()


def settle_at_counter(page: Page, base: str, certno: str, amount: str) -> None:
    sign_in(page, base, "counter", "狮泉河大药房")
    page.get_by_label("凭证类型").select_option("02")
    page.get_by_label("凭证号码").fill(certno)
    page.get_by_role("button", name="读取").click()
    expect(page.locator("#pt-name")).to_have_text("次仁央宗")
    page.get_by_label("医疗费总额").fill(amount)
    page.get_by_label("全自费金额").fill(amount)
    page.get_by_role("button", name="结算", exact=True).dblclick()  # a double click settles once
    expect(page.locator("#r-kind")).to_have_text("结算成功")


def test_invite_accept_order_settle_see_unbind(page: Page, live_server: str, shoot) -> None:
    base = live_server
    people = demo(page, base)
    elder = people["次仁央宗"]

    sign_in(page, base, "portal", "扎西")  # the helper invites their mother
    page.get_by_role("button", name="邀请亲属").click()
    page.get_by_label("亲属身份证号码").fill(elder["certno"])
    page.get_by_label("亲属姓名").fill("次仁央宗")
    page.get_by_label("对方是我的").select_option("parent")
    page.get_by_role("button", name="发送邀请").click()
    expect(page.locator("#toast")).to_contain_text("邀请已发送")
    shoot("portal-invite")

    sign_in(page, base, "portal", "次仁央宗")  # she accepts and puts her son first
    page.get_by_role("button", name="邀请", exact=True).click()
    page.get_by_role("button", name="接受").click()
    expect(page.locator("#toast")).to_contain_text("已接受")
    page.get_by_role("button", name="共济关系").click()
    helpers = page.locator("#helpers li")
    expect(helpers).to_have_count(2)
    expect(helpers.nth(1)).to_contain_text("扎*")
    page.get_by_role("button", name="上移 扎*").click()
    page.get_by_role("button", name="保存扣款顺序").click()
    expect(page.locator("#toast")).to_contain_text("扣款顺序已保存")
    expect(page.locator("#helpers li").nth(0)).to_contain_text("扎*")
    shoot("portal-bindings")

    settle_at_counter(page, base, elder["certno"], "100.00")
    expect(page.locator("#r-helpers")).to_contain_text("扎*")
    expect(page.locator("#r-mulaid")).to_have_text("100.00")
    shoot("counter-settled")

    sign_in(page, base, "portal", "扎西")  # the helper sees the debit and the chart
    expect(page.locator("#balance")).to_have_text("700.00")
    expect(page.locator("#entries tbody")).to_contain_text("-100.00")
    expect(page.locator("#chart")).to_have_attribute("aria-label", re.compile(r"100\.00元"))
    shoot("portal-account")
    page.get_by_role("button", name="共济关系").click()
    page.locator("#beneficiaries").get_by_role("button", name="解绑").click()
    page.get_by_role("button", name="确认解绑").click()
    expect(page.locator("#toast")).to_contain_text("已解除")

    settle_at_counter(page, base, elder["certno"], "50.00")  # now only 卓玛 pays
    expect(page.locator("#r-helpers")).not_to_contain_text("扎*")
    expect(page.locator("#r-helpers")).to_contain_text("卓*")
    sign_in(page, base, "portal", "扎西")
    expect(page.locator("#balance")).to_have_text("700.00")
