"""The demo's 医保目录: a dozen items for each province, one regional override.

Codes follow the national pattern (西药 X…, 中成药 Z…, 医疗服务项目 00…); the levels,
proportions and limits are plausible examples, not a published catalogue.
"""

from __future__ import annotations

from gongji.services.catalogue.loading import load_items
from gongji.services.context import Context

# (code, name, chrgitm_lv, selfpay_prop, pric_uplmt_amt)
_COMMON = [
    ("XJ01CAA040A001010101445", "阿莫西林胶囊", "01", "0", None),
    ("XA02BCA211A001010101863", "奥美拉唑肠溶胶囊", "01", "0", None),
    ("XN02BEA015A001010101915", "对乙酰氨基酚片", "01", "0", None),
    ("XC10AAA187A001010104069", "阿托伐他汀钙片", "02", "0.1", "3.0325"),  # a unit limit
    ("XA10BAA016A001010101571", "二甲双胍缓释片", "02", "0.1", None),
    ("ZA04AAA0156010104201", "连花清瘟胶囊", "02", "0.2", None),
    ("001201000010000", "普通门诊诊查费", "01", "0", "10"),
    ("002502010010000", "血细胞分析（血常规）", "01", "0", None),
    ("002103000010000", "X线计算机体层（CT）平扫", "02", "0.2", "150"),
    ("ZZ9999990000001", "医用护肤霜", "03", "1", None),
]
_TIBET = [("ZB01BAS0110010101473", "二十五味松石丸", "02", "0.1", None),
          ("ZB01BAS0120010101474", "七十味珍珠丸", "02", "0.2", None)]
_GUANGXI = [("ZA10BAS0560010101221", "三金片", "02", "0.1", None),
            ("ZA04DAS0130010101309", "金嗓子喉片", "02", "0.2", None)]
# 阿里地区 pays 藏药 more generously than the province: its own item overrides.
_OVERRIDES = [("542500", "ZB01BAS0110010101473", "二十五味松石丸", "02", "0.05", None)]


def _item(admdvs: str, code: str, name: str, lv: str, prop: str, limit: str | None) -> dict:
    return {"admdvs": admdvs, "med_list_codg": code, "med_list_name": name, "chrgitm_lv": lv,
            "selfpay_prop": prop, "pric_uplmt_amt": limit, "begndate": "2025-01-01"}


def demo_items() -> list[dict]:
    items = [_item("540000", *row) for row in _COMMON + _TIBET]
    items += [_item("450000", *row) for row in _COMMON + _GUANGXI]
    items += [_item(*row) for row in _OVERRIDES]
    return items


def seed_catalogue(ctx: Context) -> dict:
    """Load the demo catalogue; again, nothing changes (an upsert of the same values)."""
    return load_items(ctx, demo_items())
