"""The reports page (issue 17): a clerk's region, a month; bindings opened and ended are
charted with the mutual-aid amounts and the top institutions; every bar carries its value;
an empty month says 无数据 instead of drawing an axis around zero."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from helpers import demo, settle_by_gateway, sign_in

pytestmark = pytest.mark.web


@pytest.mark.parametrize("server_now", ["2026-11-30T23:30:00+08:00"], ids=["last-day-2330"])
def test_a_month_with_figures_and_an_empty_one(page: Page, live_server, shoot):
    people = demo(page, live_server)
    settle_by_gateway(page, live_server, people["次仁央宗"], "12.50")
    sign_in(page, live_server, "reports", "clerk-542500")
    expect(page.locator("#report-month")).to_have_value("2026-11")  # the server's month
    expect(page.locator("#report-title")).to_contain_text("（542500）2026年11月")
    opened = page.locator("#bindings-chart .hbar").first
    expect(opened).to_contain_text("新建")
    expect(opened).to_contain_text("3 件")  # the demo's three bindings of 542500's helpers
    pharmacy = page.locator("#scenes-chart .hbar").nth(1)
    expect(pharmacy).to_contain_text("12.50 元（1 次）")
    expect(page.locator("#top-chart")).to_contain_text("狮泉河大药房")
    expect(page.locator("#top-chart")).to_contain_text("12.50 元（1 次）")
    expect(page.locator("#scenes-chart")).to_have_attribute(
        "aria-label", "门诊（定点医院） 0.00 元（0 次），购药（定点零售药店） 12.50 元（1 次），"
        "住院（定点医院） 0.00 元（0 次），代缴居民医保费 0.00 元（0 次）")
    shoot("reports-month")

    page.get_by_label("月份").fill("2020-01")
    page.get_by_role("button", name="查询").click()
    expect(page.locator("#report-title")).to_contain_text("2020年1月")
    for chart in ("#bindings-chart", "#scenes-chart", "#top-chart"):
        expect(page.locator(chart)).to_have_text("无数据")
        expect(page.locator(f"{chart} .hbar")).to_have_count(0)
    shoot("reports-empty-month")


def test_only_a_clerk_reads_the_report(page: Page, live_server):
    people = demo(page, live_server)
    answer = page.request.get(f"{live_server}/web/report?month=2026-11",
                              headers={"Authorization": f"Bearer {people['卓玛']['token']}"})
    assert answer.status == 403 and answer.json()["code"] == "FORBIDDEN"
