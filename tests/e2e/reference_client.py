"""A reference client: envelopes filled the way hospital (HIS) and pharmacy systems built on
the national interface fill them, sent over HTTP to the real app.

What such systems do, and this client does too:
- msgid = fixmedins_code + yyyyMMddHHmmss (Beijing time, the system's own clock) + a 4-digit
  sequence, unique per message;
- every envelope carries the standard fields: infver "V1.0", opter_type "1", opter and
  opter_name, fixmedins_name, recer_sys_code, dev_no / dev_safe_info / cainfo "" and
  signtype "SM2", inf_time `yyyy-MM-dd HH:mm:ss`;
- the day starts with 9001 签到; its sign_no is sent with every later message;
- insuplc_admdvs is "" until the card is read (1101), then the patient's region;
- a lost answer is not retried blindly: the system sends 2601 冲正 naming the lost msgid.
"""

from __future__ import annotations

import itertools
from zoneinfo import ZoneInfo

BEIJING = ZoneInfo("Asia/Shanghai")
PATH = "/fsi/api/rsfComIfsService/callService"


class LostAnswer(Exception):
    """The message reached the platform but its answer never came back."""


class ReferenceClient:
    def __init__(self, api, token: str, fixmedins_code: str, fixmedins_name: str,  # noqa: ANN001
                 admdvs: str, clock, *, opter: str = "0001", opter_name: str = "收费员甲"):  # noqa: ANN001
        self.api, self.token, self.clock = api, token, clock
        self.code, self.name, self.admdvs = fixmedins_code, fixmedins_name, admdvs
        self.opter, self.opter_name = opter, opter_name
        self.sign_no = ""
        self.insuplc_admdvs = ""
        self._seq = itertools.count(1)
        self.last_msgid = ""

    def next_msgid(self) -> str:
        beijing = self.clock().astimezone(BEIJING)
        return f"{self.code}{beijing:%Y%m%d%H%M%S}{next(self._seq) % 10000:04d}"

    def envelope(self, infno: str, input_: dict, msgid: str) -> dict:
        return {
            "infno": infno, "msgid": msgid, "mdtrtarea_admvs": self.admdvs,
            "insuplc_admdvs": self.insuplc_admdvs, "recer_sys_code": "MDY32",
            "dev_no": "", "dev_safe_info": "", "cainfo": "", "signtype": "SM2",
            "infver": "V1.0", "opter_type": "1", "opter": self.opter,
            "opter_name": self.opter_name,
            "inf_time": f"{self.clock().astimezone(BEIJING):%Y-%m-%d %H:%M:%S}",
            "fixmedins_code": self.code, "fixmedins_name": self.name,
            "sign_no": self.sign_no, "input": input_,
        }

    def send(self, infno: str, input_: dict, *, msgid: str | None = None,
             lose_answer: bool = False) -> dict:
        """One message; the whole answer (infcode, err_code, output ...)."""
        msgid = msgid or self.next_msgid()
        self.last_msgid = msgid
        response = self.api.client.post(PATH, json=self.envelope(infno, input_, msgid),
                                        headers=self.api.as_(self.token))
        assert response.status_code == 200, response.text
        if lose_answer:
            raise LostAnswer(msgid)
        return response.json()

    def must(self, infno: str, input_: dict, **kw) -> dict:
        """The output of a message that must succeed."""
        answer = self.send(infno, input_, **kw)
        assert answer["infcode"] == 0, f"{infno}: {answer['err_code']} {answer['err_msg']}"
        return answer["output"]

    # --- the day's usual messages -------------------------------------------------------------

    def sign_in(self, mac: str = "00-1A-2B-3C-4D-5E", ip: str = "10.0.0.8") -> str:
        out = self.must("9001", {"signIn": {"opter_no": self.opter, "mac": mac, "ip": ip}})
        self.sign_no = out["signinoutb"]["sign_no"]
        return self.sign_no

    def sign_out(self) -> dict:
        out = self.must("9002", {"signOut": {"sign_no": self.sign_no, "opter_no": self.opter}})
        self.sign_no = ""
        return out

    def read_card(self, certno: str) -> dict:
        """1101 by ID number, before the region is known; afterwards it is sent."""
        self.insuplc_admdvs = ""
        out = self.must("1101", {"data": {"mdtrt_cert_type": "02", "mdtrt_cert_no": certno,
                                          "card_sn": "", "begntime": "", "psn_cert_type": "",
                                          "certno": certno, "psn_name": ""}})
        self.insuplc_admdvs = out["insuinfo"][0]["insuplc_admdvs"]
        return out

    def correct(self, psn_no: str, omsgid: str, oinfno: str) -> dict:
        """2601 冲正 of a message whose answer was lost."""
        return self.send("2601", {"data": {"psn_no": psn_no, "omsgid": omsgid,
                                           "oinfno": oinfno}})

    # --- an outpatient visit, as a HIS sends it -----------------------------------------------

    def credential(self, patient: dict) -> dict:
        return {"psn_no": patient["psn_no"], "mdtrt_cert_type": "02",
                "mdtrt_cert_no": patient["certno"], "insutype": patient["insutype"]}

    def register(self, patient: dict, ipt_otp_no: str, begntime: str) -> str:
        """2201 挂号: the visit's mdtrt_id."""
        out = self.must("2201", {"data": self.credential(patient) | {
            "begntime": begntime, "ipt_otp_no": ipt_otp_no, "atddr_no": "D001",
            "dr_name": "王医生", "dept_code": "A03", "dept_name": "内科", "caty": "A03"}})
        return out["data"]["mdtrt_id"]

    def visit_info(self, patient: dict, mdtrt_id: str, begntime: str, diagnoses: list) -> dict:
        """2203 就诊信息上传: the visit's 医疗类别 and its diagnoses."""
        return self.must("2203", {
            "mdtrtinfo": {"mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"], "med_type": "11",
                          "begntime": begntime, "main_cond_dscr": "", "dise_codg": "",
                          "dise_name": "", "birctrl_type": "", "birctrl_matn_date": ""},
            "diseinfo": [{"diag_type": "1", "diag_srt_no": str(i), "diag_code": code,
                          "diag_name": name, "diag_dept": "内科", "dise_dor_no": "D001",
                          "dise_dor_name": "王医生", "diag_time": begntime, "vali_flag": "1"}
                         for i, (code, name) in enumerate(diagnoses, start=1)]})

    @staticmethod
    def line(sn: str, codg: str, pric: str, cnt: str, total: str, when: str) -> dict:
        """One fee line, amounts as decimal strings (as HIS databases hand them over)."""
        return {"feedetl_sn": sn, "med_list_codg": codg, "medins_list_codg": f"HIS-{codg}",
                "det_item_fee_sumamt": total, "cnt": cnt, "pric": pric, "fee_ocur_time": when,
                "bilg_dept_codg": "A03", "bilg_dept_name": "内科", "bilg_dr_codg": "D001",
                "bilg_dr_name": "王医生", "hosp_appr_flag": "1", "memo": ""}

    def upload(self, patient: dict, mdtrt_id: str, chrg_bchno: str, lines: list) -> list:
        """2204 费用明细上传: the platform's classification, line by line."""
        feedetail = [line | {"mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"],
                             "chrg_bchno": chrg_bchno, "rxno": "", "rx_circ_flag": "0",
                             "sin_dos_dscr": "", "used_frqu_dscr": ""} for line in lines]
        return self.must("2204", {"feedetail": feedetail})["result"]

    def batch_bill(self, patient: dict, mdtrt_id: str, chrg_bchno: str, total: str) -> dict:
        """2206 / 2207 input: the four parts as "" (the platform computes them)."""
        return {"data": self.credential(patient) | {
            "med_type": "11", "medfee_sumamt": total, "psn_setlway": "01",
            "mdtrt_id": mdtrt_id, "chrg_bchno": chrg_bchno, "acct_used_flag": "1",
            "fulamt_ownpay_amt": "", "overlmt_selfpay": "", "preselfpay_amt": "",
            "inscp_scp_amt": "", "invono": "", "fulamt_ownpay_amt_flag": ""}}

    # --- an inpatient stay, as a HIS sends it (CONTRACT v2 "Inpatient") --------------------------

    def admit(self, patient: dict, ipt_no: str, begntime: str, diagnoses: list) -> str:
        """2401 入院办理: the stay's mdtrt_id."""
        out = self.must("2401", {
            "mdtrtinfo": self.credential(patient) | {
                "begntime": begntime, "med_type": "21", "ipt_no": ipt_no, "medrcdno": ipt_no,
                "atddr_no": "D001", "chfpdr_name": "王医生", "adm_diag_dscr": diagnoses[0][1],
                "adm_dept_codg": "A03", "adm_dept_name": "内科", "adm_bed": "12",
                "dscg_maindiag_code": "", "dscg_maindiag_name": "", "main_cond_dscr": ""},
            "diseinfo": [{"psn_no": patient["psn_no"], "diag_type": "1", "maindiag_flag": "1",
                          "diag_srt_no": str(i), "diag_code": code, "diag_name": name,
                          "adm_cond": "", "diag_dept": "内科", "dise_dor_no": "D001",
                          "dise_dor_name": "王医生", "diag_time": begntime}
                         for i, (code, name) in enumerate(diagnoses, start=1)]})
        return out["result"]["mdtrt_id"]

    def stay_lines(self, patient: dict, mdtrt_id: str, lines: list) -> list:
        """2301 住院费用明细上传: shaped as 2204's, classified line by line."""
        feedetail = [line | {"mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"],
                             "chrg_bchno": "0", "init_feedetl_sn": "", "drord_no": "",
                             "med_type": "21"} for line in lines]
        return self.must("2301", {"feedetail": feedetail})["result"]

    def discharge(self, patient: dict, mdtrt_id: str, endtime: str, diagnoses: list) -> dict:
        """2402 出院办理."""
        return self.must("2402", {
            "dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"],
                         "insutype": patient["insutype"], "endtime": endtime,
                         "dise_codg": diagnoses[0][0], "dise_name": diagnoses[0][1],
                         "dscg_way": "1", "dscg_dept_codg": "A03", "dscg_dept_name": "内科"},
            "diseinfo": [{"mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"],
                          "diag_type": "1", "maindiag_flag": "1", "diag_srt_no": str(i),
                          "diag_code": code, "diag_name": name, "diag_dept": "内科",
                          "dise_dor_no": "D001", "dise_dor_name": "王医生", "diag_time": endtime}
                         for i, (code, name) in enumerate(diagnoses, start=1)]})

    def stay_bill(self, patient: dict, mdtrt_id: str, total: str) -> dict:
        """2303 / 2304 input: every unsettled line of the discharged stay; no mid-stay
        settlement (mid_setl_flag "0")."""
        return {"data": self.credential(patient) | {
            "medfee_sumamt": total, "psn_setlway": "01", "mdtrt_id": mdtrt_id,
            "acct_used_flag": "1", "mid_setl_flag": "0", "invono": "",
            "fulamt_ownpay_amt_flag": ""}}

    # --- a pharmacy sale -----------------------------------------------------------------------

    def drugs(self, patient: dict, total: str, lines: list, begntime: str) -> dict:
        """2101 / 2102 input: druginfo and drugdetail."""
        return {"druginfo": self.credential(patient) | {
                    "begntime": begntime, "medfee_sumamt": total, "acct_used_flag": "1",
                    "med_type": "41", "psn_setlway": "01", "ipt_otp_no": f"YD{begntime[:10]}",
                    "atddr_no": "", "dr_name": ""},
                "drugdetail": lines}
