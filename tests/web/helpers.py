"""Page actions shared by the browser tests."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect


def demo(page: Page, base: str) -> dict:
    """Demo people by name (full data: demo mode only)."""
    data = page.request.get(f"{base}/web/demo/identities").json()
    return {p["psn_name"]: p for p in data["persons"]}


def sign_in(page: Page, base: str, path: str, label: str) -> None:
    page.goto(f"{base}/{path}")
    page.evaluate("sessionStorage.clear()")
    page.goto(f"{base}/{path}")
    page.get_by_role("button", name=re.compile(label)).click()
    expect(page.locator("#app")).to_be_visible()


def read_credential(page: Page, cert_type: str, number: str) -> None:
    page.get_by_label("凭证类型").select_option(cert_type)
    page.get_by_label("凭证号码").fill(number)
    page.get_by_role("button", name="读取").click()


def fill_bill(page: Page, total: str, ownpay: str | None = None) -> None:
    page.get_by_label("医疗费总额").fill(total)
    page.get_by_label("全自费金额").fill(ownpay if ownpay is not None else total)
