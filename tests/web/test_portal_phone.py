"""The portal on a person's phone (issue 17): a bottom tab bar of five with a "更多" sheet,
helper features only for people who can be helpers, relations said from the reader's side,
the channel the app's own, Chinese dates, what accepting means, empty states. Each test
shoots the page at 375 and 1280 px (conftest `shoot`: nothing wider than the screen, no
button cut off)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from helpers import demo, go, settle_by_gateway, sign_in

pytestmark = pytest.mark.web


def tab_rows(page: Page) -> int:
    """How many rows the tab bar's buttons take on screen."""
    return page.evaluate("""() => new Set([...document.querySelectorAll('.tabbar button')]
        .map((b) => Math.round(b.getBoundingClientRect().top))).size""")


def test_the_tab_bar_is_one_row_of_five_at_both_widths(page: Page, live_server, shoot):
    sign_in(page, live_server, "portal", "卓玛")
    buttons = page.locator(".tabbar button")
    expect(buttons).to_have_count(5)
    expect(buttons.last).to_have_text(re.compile("更多"))
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 800})
        assert tab_rows(page) == 1, width
    page.set_viewport_size({"width": 375, "height": 800})
    # on the phone the bar sits at the bottom of the screen, whatever is scrolled
    box = page.locator(".tabbar").bounding_box()
    assert box and box["y"] + box["height"] == pytest.approx(800, abs=1)
    expect(page.locator('.tabbar [data-tab="account"]')).to_have_attribute("aria-current", "page")
    page.locator("#more-open").click()
    expect(page.locator("#more-sheet")).to_be_visible()
    shoot("portal-more-sheet")
    page.locator('#more-sheet [data-tab="settlements"]').click()
    expect(page.locator("#more-sheet")).to_be_hidden()
    expect(page.locator('[data-panel="settlements"]')).to_be_visible()
    expect(page.locator("#more-open")).to_have_attribute("aria-current", "page")


def test_a_390_member_sees_no_helper_features(page: Page, live_server, shoot):
    sign_in(page, live_server, "portal", "次仁央宗")  # 城乡居民: cannot pay for anyone
    page.locator("#more-open").click()
    expect(page.locator('#more-sheet [data-tab="invite"]')).to_be_hidden()
    expect(page.locator('#more-sheet [data-tab="invitations"]')).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_text("亲属每月使用共济资金")).to_be_hidden()
    go(page, "bindings")
    expect(page.locator("#beneficiaries")).to_be_hidden()
    expect(page.get_by_text("我为其付费的亲属")).to_be_hidden()
    # her daughter 卓玛 pays for her: said from her side
    expect(page.locator("#helpers li").first).to_contain_text("您的女儿 卓*")
    shoot("portal-390-bindings")

    sign_in(page, live_server, "portal", "卓玛")  # 职工: can
    page.locator("#more-open").click()
    expect(page.locator('#more-sheet [data-tab="invite"]')).to_be_visible()
    page.keyboard.press("Escape")
    go(page, "bindings")
    expect(page.locator("#beneficiaries")).to_contain_text("为您的儿子 平* 付费")
    expect(page.locator("#beneficiaries")).to_contain_text("为您的母亲 次仁** 付费")


def test_the_invitation_says_who_from_the_readers_side_and_what_accepting_means(
        page: Page, live_server, shoot):
    people = demo(page, live_server)
    sign_in(page, live_server, "portal", "扎西")
    go(page, "invite")
    expect(page.locator("#invite-channel")).to_have_count(0)  # the app knows its channel
    expect(page.locator('[data-panel="invite"] .hint')).to_contain_text("随时可以解除")
    page.get_by_label("亲属身份证号码").fill(people["次仁央宗"]["certno"])
    page.get_by_label("亲属姓名").fill("次仁央宗")
    page.get_by_label("对方是我的").select_option("parent")
    request = []
    page.on("request", lambda r: request.append(r.post_data_json)
            if r.url.endswith("/api/v1/invitations") and r.method == "POST" else None)
    page.get_by_role("button", name="发送邀请").click()
    expect(page.locator("#toast")).to_contain_text("邀请已发送")
    assert request and request[0]["channel"] == "national_app"
    go(page, "invitations")
    expect(page.locator("#sent li").first).to_contain_text("邀请您的母亲 次仁**")

    sign_in(page, live_server, "portal", "次仁央宗")
    expect(page.locator("#pending")).to_have_text("1")  # waiting for her, counted on 更多
    go(page, "invitations")
    received = page.locator("#received li").first
    expect(received).to_contain_text("您的儿子 扎* 邀请为您付费")
    expect(received).to_contain_text(re.compile(r"有效期至 \d{4}年\d{1,2}月\d{1,2}日 \d\d:\d\d"))
    means = page.locator("#accept-means")
    for words in ("个人负担部分", "本人个人账户", "邀请人的个人账户", "随时", "解除"):
        expect(means).to_contain_text(words)
    shoot("portal-invitation-received")


def test_empty_lists_and_charts_say_so(page: Page, live_server, shoot):
    sign_in(page, live_server, "portal", "扎西")  # 职工, nobody bound yet, nothing used
    expect(page.locator("#chart-empty")).to_have_text("暂无亲属使用共济资金")
    expect(page.locator("#chart")).to_be_hidden()
    shoot("portal-empty-account")
    go(page, "bindings")
    expect(page.locator("#helpers")).to_contain_text("暂无亲属为您付费")
    expect(page.locator("#beneficiaries")).to_contain_text("暂无为亲属付费的共济关系")
    go(page, "notices")
    expect(page.locator("#notices")).to_contain_text("暂无消息")
    go(page, "settlements")
    expect(page.locator("#settlements")).to_contain_text("暂无结算记录")
    go(page, "invitations")
    expect(page.locator("#received")).to_contain_text("暂无收到的邀请")
    expect(page.locator("#sent")).to_contain_text("暂无发出的邀请")
    shoot("portal-empty-invitations")


@pytest.mark.parametrize("server_now", ["2026-11-30T23:30:00+08:00"], ids=["last-day-2330"])
def test_details_name_the_relative_and_the_date_in_chinese(page: Page, live_server, shoot):
    people = demo(page, live_server)
    settle_by_gateway(page, live_server, people["次仁央宗"], "12.50")
    sign_in(page, live_server, "portal", "卓玛")
    first = page.locator("#entries tbody tr").first
    expect(first).to_contain_text("2026年11月30日 23:30")
    expect(first).to_contain_text("您的母亲 次仁**")
    expect(page.locator("#chart svg text.amount")).to_have_text(["12.50"])
    shoot("portal-account-used")
    go(page, "notices")
    expect(page.locator("#notices li").first).to_contain_text("您的母亲 次仁**")
    expect(page.locator("#notices li").first).to_contain_text("2026年11月30日 23:30")
