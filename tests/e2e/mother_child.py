"""The household most gateway tests start from, made once here: a mother (an employee with an
account) and her child (a resident), registered through the operator API, optionally bound at
the hall; a self-pay bill for the v1 settlement fields; the helper's balance as she sees it."""

from __future__ import annotations

from datetime import date

from gongji.domain.idcard import make_certno

MOTHER_BORN, CHILD_BORN = date(1980, 2, 3), date(2014, 7, 8)


def person(api, certno: str, name: str, insutype: str, region: str) -> dict:  # noqa: ANN001
    answer = api.post("/api/v1/persons", {"certno": certno, "psn_name": name,
                                          "insutype": insutype, "insuplc_admdvs": region})
    assert answer.status_code == 201, answer.text
    return answer.json()


def mother_and_child(api, seq: int, *, region: str = "542500", credit_ref: str = "m",  # noqa: ANN001
                     clerk: str = "clerk-1", bind: bool = True) -> dict:
    """卓玛 with 500.00 yuan and 平措 (certificate serials `seq` and `seq + 1`); with `bind`,
    the child registered as her kin and bound to her by a clerk of `region`."""
    mother = person(api, make_certno("542521", MOTHER_BORN, seq), "卓玛", "310", region)
    child = person(api, make_certno("542521", CHILD_BORN, seq + 1), "平措", "390", region)
    credited = api.post(f"/api/v1/accounts/{mother['psn_no']}/credits",
                        {"amount": "500.00", "ref": credit_ref})
    assert credited.status_code == 201, credited.text
    if bind:
        kin = api.post("/api/v1/kinships", {"certno": mother["certno"],
                                            "relative_certno": child["certno"],
                                            "relation": "child"})
        assert kin.status_code == 201, kin.text
        bound = api.post("/api/v1/bindings", {
            "helper_certno": mother["certno"], "beneficiary_certno": child["certno"],
            "relation": "child", "documents_checked": True}, api.token("clerk", clerk, region))
        assert bound.status_code == 201, bound.text
    return {"mother": mother, "child": child,
            "binding_id": bound.json()["binding_id"] if bind else None,
            "mother_token": api.token("person", mother["psn_no"])}


def institution(api, code: str, kind: str, *, name: str | None = None,  # noqa: ANN001
                region: str = "542500") -> None:
    created = api.post("/api/v1/institutions", {"fixmedins_code": code,
                                                "fixmedins_name": name or code,
                                                "fixmedins_type": kind, "admdvs": region})
    assert created.status_code == 201, created.text


def self_pay_bill(person_: dict, amount: str, insutype: str) -> dict:
    """A v1 settlement input (2207/2102) all paid by the account: no fund share."""
    return {"data": {"psn_no": person_["psn_no"], "mdtrt_cert_type": "02",
                     "mdtrt_cert_no": person_["certno"], "medfee_sumamt": amount,
                     "fulamt_ownpay_amt": amount, "overlmt_selfpay": "0",
                     "preselfpay_amt": "0", "inscp_scp_amt": "0", "acct_used_flag": "1",
                     "insutype": insutype}}


def balance(api, token: str) -> float:  # noqa: ANN001
    """The account balance the holder of `token` sees, in yuan."""
    return api.get("/api/v1/account", token).json()["balance"]
