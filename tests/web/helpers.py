"""Page actions shared by the browser tests."""

from __future__ import annotations

import re

from playwright.sync_api import Locator, Page, expect


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


def settlements_of(page: Page, base: str, name: str) -> list[dict]:
    """The patient's own settlements, as the portal's API lists them."""
    people = page.request.get(f"{base}/web/demo/identities").json()["persons"]
    token = next(p["token"] for p in people if p["psn_name"] == name)
    answer = page.request.get(f"{base}/api/v1/settlements",
                              headers={"Authorization": f"Bearer {token}"})
    assert answer.ok, answer.text()
    return answer.json()["settlements"]


def text_of(page: Page, selector: str = "#result") -> str:
    """What the box says, as read: one space between its parts."""
    return re.sub(r"\s+", " ", page.locator(selector).inner_text())


def printed_pages_mm(page: Page) -> list[tuple[int, float]]:
    """The page printed as the browser would (CSS page sizes honoured): each sheet's width
    (whole mm) and length (mm), read from the PDF's MediaBox entries."""
    pdf = page.pdf(prefer_css_page_size=True)
    return [(round(float(w) * 25.4 / 72), float(h) * 25.4 / 72) for w, h in
            re.findall(rb"/MediaBox\s*\[\s*0\s+0\s+([\d.]+)\s+([\d.]+)\s*\]", pdf)]


def read_credential(page: Page, cert_type: str, number: str) -> None:
    page.get_by_label("凭证类型").select_option(cert_type)
    page.get_by_label("凭证号码").fill(number)
    page.get_by_role("button", name="读取").click()


SELF_PAY_ITEM = "ZZ9999990000001"  # 医用护肤霜, 丙类 in the demo catalogue: all own pay


def open_counter(page: Page, base: str, label: str, opter: str = "S001") -> None:
    """Sign the institution in, then the cashier (9001)."""
    sign_in(page, base, "counter", label)
    page.get_by_label("收费员工号").fill(opter)
    page.get_by_role("button", name="签到").click()
    expect(page.locator("#desk")).to_be_visible()


def add_line(page: Page, query: str, cnt: str, pric: str, pick: str | None = None) -> None:
    """Look a catalogue item up by code or name (choosing `pick` among several), enter it."""
    page.get_by_label("医保目录编码或名称").fill(query)
    page.get_by_role("button", name="查询目录").click()
    if pick:
        page.locator("#item-choices").get_by_role("button", name=re.compile(pick)).click()
    expect(page.locator("#line-form")).to_be_visible()
    page.get_by_label("数量").fill(cnt)
    page.get_by_label("单价（元）").fill(pric)
    page.get_by_role("button", name="加入明细").click()
    expect(page.locator("#line-form")).to_be_hidden()


def fill_bill(page: Page, total: str) -> None:
    """A pharmacy bill of one 丙类 line of this total (all own pay: no pooled fund)."""
    add_line(page, SELF_PAY_ITEM, "1", total)


def hospital_batch(page: Page, total: str) -> Locator:
    """At a hospital, the patient read: register the visit, upload one 丙类 line of this
    total as a batch; the batch's box (with its 预结算 / 结算 / 删除 buttons)."""
    page.get_by_role("button", name="门诊挂号").click()
    expect(page.locator("#sale")).to_be_visible()
    fill_bill(page, total)
    before = page.locator(".batch").count()
    page.get_by_role("button", name="上传明细").click()
    expect(page.locator(".batch")).to_have_count(before + 1)
    return page.locator(".batch").last


def settle_by_gateway(page: Page, base: str, person: dict, amount: str) -> dict:
    """A pharmacy settlement (2102) at 狮泉河大药房, sent as the counter sends it."""
    identities = page.request.get(f"{base}/web/demo/identities").json()
    pharmacy = next(i for i in identities["institutions"] if i["fixmedins_code"] == "P54250001")
    envelope = {"infno": "2102", "msgid": f"P54250001-{amount}", "mdtrtarea_admvs": "542500",
                "insuplc_admdvs": "542500", "fixmedins_code": "P54250001", "opter": "web-test",
                "inf_time": "2026-01-01 00:00:00",
                "input": {"data": {"psn_no": person["psn_no"], "mdtrt_cert_type": "02",
                                   "mdtrt_cert_no": person["certno"], "medfee_sumamt": amount,
                                   "fulamt_ownpay_amt": amount, "overlmt_selfpay": "0",
                                   "preselfpay_amt": "0", "inscp_scp_amt": "0",
                                   "acct_used_flag": "1", "insutype": "390"}}}
    answer = page.request.post(f"{base}/fsi/api/rsfComIfsService/callService", data=envelope,
                               headers={"Authorization": f"Bearer {pharmacy['token']}"}).json()
    assert answer.get("infcode") == 0, answer
    return answer["output"]


def go(page: Page, tab: str) -> None:
    """Open a portal panel by its data-tab name: from the bottom tab bar, or from the
    "更多" sheet for the rest."""
    in_bar = page.locator(f'.tabbar [data-tab="{tab}"]')
    if in_bar.count():
        in_bar.click()
    else:
        page.locator("#more-open").click()
        page.locator(f'#more-sheet [data-tab="{tab}"]').click()
    expect(page.locator(f'[data-panel="{tab}"]')).to_be_visible()
