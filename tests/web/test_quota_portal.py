"""共济额度 in the portal: the helper sets and changes a relative's quota and sees what
remains and what is reserved; the relative sees how much of it is left."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import Page, expect

from conftest import ADMIN
from helpers import go, sign_in

pytestmark = pytest.mark.web


def switch_quotas_on(page: Page, base: str) -> None:
    """Ali publishes the rule from today (Beijing), as its operator would."""
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    answer = page.request.post(f"{base}/api/v1/policies/542500/versions",
                               headers={"Authorization": f"Bearer {ADMIN}"},
                               data={"effective_from": today,
                                     "rules": {"mutual_aid_quota_enabled": True}})
    assert answer.status == 201, answer.text()


def test_helper_sets_a_quota_and_the_relative_sees_what_is_left(page: Page, live_server, shoot):
    switch_quotas_on(page, live_server)
    sign_in(page, live_server, "portal", "卓玛")  # 1200 yuan; helps 平措 and 次仁央宗
    go(page, "bindings")
    card = page.locator("#quota-card")
    son = card.locator("li", has_text="平")
    expect(son).to_contain_text("未设额度")

    son.locator("input").fill("-5")
    son.get_by_role("button", name="设置额度").click()
    expect(son.locator(".error")).to_contain_text("不小于 0")
    son.locator("input").fill("5000")  # more than the balance
    son.get_by_role("button", name="设置额度").click()
    expect(son.locator(".error")).to_contain_text("不能超过个人账户余额")

    son.locator("input").fill("300")
    son.get_by_role("button", name="设置额度").click()
    expect(page.locator("#toast")).to_contain_text("300.00")
    expect(card.locator("li", has_text="平")).to_contain_text("剩余 300.00 元（额度 300.00 元）")
    card.locator("li", has_text="平").locator("input").fill("250.5")
    card.locator("li", has_text="平").get_by_role("button", name="修改额度").click()
    expect(card.locator("li", has_text="平")).to_contain_text("剩余 250.50 元（额度 250.50 元）")
    shoot("portal-quota-set")
    go(page, "account")
    expect(page.locator("#quota-summary")).to_contain_text("预留 250.50 元，本人可用 949.50 元")
    shoot("portal-quota-account")

    sign_in(page, live_server, "portal", "平措")
    go(page, "bindings")
    expect(page.locator("#quota-card")).to_contain_text("亲属为我设置的额度")
    expect(page.locator("#quota-card")).to_contain_text("剩余 250.50 元（额度 250.50 元）")
