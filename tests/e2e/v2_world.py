"""The world of the v2 outpatient and pharmacy tests: a Tibetan family (a mother with an
employee account helping her child), a hospital, a second hospital, a pharmacy, the
province's catalogue, and fee lines as a HIS fills them."""

from __future__ import annotations

from datetime import date

from gongji.domain.idcard import make_certno
from mother_child import institution, person
from reference_client import ReferenceClient

REGION = "542500"
HOSPITAL, OTHER_HOSPITAL, PHARMACY = "H54250001", "H54250002", "P54250001"

# Province items (540000): what each line below is classified by.
CATALOGUE = [
    {"med_list_codg": "A01", "med_list_name": "血常规", "chrgitm_lv": "01",
     "selfpay_prop": "0", "pric_uplmt_amt": None},
    {"med_list_codg": "B02", "med_list_name": "阿莫西林胶囊", "chrgitm_lv": "02",
     "selfpay_prop": "0.1", "pric_uplmt_amt": None},
    {"med_list_codg": "L01", "med_list_name": "头孢克肟片", "chrgitm_lv": "02",
     "selfpay_prop": "0.2", "pric_uplmt_amt": "10.00"},
    {"med_list_codg": "C03", "med_list_name": "进口敷料", "chrgitm_lv": "03",
     "selfpay_prop": "1", "pric_uplmt_amt": None},
]
# (code, pric, cnt, det_item_fee_sumamt) → (fulamt_ownpay, overlmt, preselfpay, inscp, lv)
LINES = [
    (("A01", "12.50", "2", "25.00"), (0, 0, 0, 25, "01")),
    (("B02", "3.3333", "3", "10.00"), (0, 0, 1, 9, "02")),  # 9.9999 rounds to 10.00
    (("L01", "12", "2", "24.00"), (0, 4, 4, 16, "02")),  # 4.00 above the 10.00 limit
    (("C03", "8.00", "1", "8.00"), (8, 0, 0, 0, "03")),
    (("X99", "1.50", "2", "3.00"), (3, 0, 0, 0, "03")),  # unknown to the catalogue
]
TOTAL = "70.00"
PARTS = {"fulamt_ownpay_amt": 11, "overlmt_selfpay": 4, "preselfpay_amt": 5,
         "inscp_scp_amt": 50}


class Family:
    """What the tests need: the people, the institutions' reference clients."""

    def __init__(self, api, clock):  # noqa: ANN001
        self.api = api
        self.mother = self._person("卓玛", "310", make_certno("542521", date(1980, 2, 3), 11))
        self.child = self._person("平措", "390", make_certno("542521", date(2014, 7, 8), 12))
        self.stranger = self._person("路人", "310", make_certno("542521", date(1990, 1, 1), 13))
        assert api.post("/api/v1/kinships", {"certno": self.mother["certno"],
                                             "relative_certno": self.child["certno"],
                                             "relation": "child"}).status_code == 201
        assert api.post(f"/api/v1/accounts/{self.mother['psn_no']}/credits",
                        {"amount": "500.00", "ref": "2025-01-M"}).status_code == 201
        clerk = api.token("clerk", "clerk-7", REGION)
        bound = api.post("/api/v1/bindings", {
            "helper_certno": self.mother["certno"], "beneficiary_certno": self.child["certno"],
            "relation": "child", "documents_checked": True}, clerk)
        assert bound.status_code == 201, bound.text
        loaded = api.post("/api/v1/catalogue", {"items": [
            {"admdvs": "540000"} | item for item in CATALOGUE]})
        assert loaded.status_code == 200, loaded.text
        self.his = self._institution(HOSPITAL, "山南市人民医院", "hospital", clock)
        self.other_his = self._institution(OTHER_HOSPITAL, "山南市第二医院", "hospital", clock)
        self.pharmacy = self._institution(PHARMACY, "山南市药店", "pharmacy", clock)
        self.mother_token = api.token("person", self.mother["psn_no"])

    def _person(self, name: str, insutype: str, certno: str) -> dict:
        return person(self.api, certno, name, insutype, REGION)

    def _institution(self, code: str, name: str, kind: str, clock) -> ReferenceClient:  # noqa: ANN001
        institution(self.api, code, kind, name=name, region=REGION)
        return ReferenceClient(self.api, self.api.token("institution", code), code, name,
                               REGION, clock)

    def helper_balance(self) -> float:
        return self.api.get("/api/v1/account", self.mother_token).json()["balance"]


def fee_line(sn: str, spec: tuple, *, mdtrt_id: str | None = None, psn_no: str | None = None,
             chrg_bchno: str | None = None) -> dict:
    """A line as a HIS or a pharmacy system fills it (amounts as decimal strings)."""
    codg, pric, cnt, total = spec
    line = {"feedetl_sn": sn, "med_list_codg": codg, "medins_list_codg": f"HIS-{codg}",
            "det_item_fee_sumamt": total, "cnt": cnt, "pric": pric,
            "fee_ocur_time": "2025-06-01 09:30:00", "bilg_dept_codg": "A03",
            "bilg_dept_name": "内科", "bilg_dr_codg": "D001", "bilg_dr_name": "王医生",
            "hosp_appr_flag": "1", "memo": ""}
    if mdtrt_id is not None:
        line |= {"mdtrt_id": mdtrt_id, "psn_no": psn_no, "chrg_bchno": chrg_bchno,
                 "rxno": "", "rx_circ_flag": "0", "sin_dos_dscr": "", "used_frqu_dscr": ""}
    return line
