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
