"""The stay's state machine (domain/stay.py) and its parsers, pure."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.stay import (
    ALLOWED,
    STAY_BATCH,
    StayCall,
    StayStatus,
    after,
    current,
    parse_admission,
    parse_discharge,
    parse_line_ref,
    parse_stay_bill,
)

A, D, S, C = (StayStatus.ADMITTED, StayStatus.DISCHARGED, StayStatus.SETTLED,
              StayStatus.CANCELLED)
LINE_CHANGES = {StayCall.UPLOAD, StayCall.DELETE}


class Model:
    """The rules as prose, independently of the table: what a stay remembers."""

    def __init__(self) -> None:
        self.in_hospital, self.discharged, self.settled, self.cancelled = True, False, False, False

    def may(self, call: StayCall) -> bool:
        if self.cancelled:
            return False
        if self.settled:
            return call == StayCall.REVERSE
        if call in LINE_CHANGES:
            return True
        if self.discharged:
            return call in (StayCall.PRESETTLE, StayCall.SETTLE, StayCall.CANCEL_DISCHARGE)
        return call in (StayCall.DISCHARGE, StayCall.CANCEL_ADMISSION)

    def apply(self, call: StayCall) -> None:
        if call == StayCall.DISCHARGE:
            self.discharged = True
        elif call == StayCall.CANCEL_DISCHARGE:
            self.discharged = False
        elif call == StayCall.SETTLE:
            self.settled = True
        elif call == StayCall.REVERSE:
            self.settled = False
        elif call == StayCall.CANCEL_ADMISSION:
            self.cancelled = True

    def state(self) -> StayStatus:
        if self.cancelled:
            return C
        if self.settled:
            return S
        return D if self.discharged else A


@given(st.lists(st.sampled_from(list(StayCall)), max_size=40))
def test_no_sequence_of_calls_reaches_an_illegal_state(calls):
    state, model = A, Model()
    for call in calls:
        if model.may(call):
            state = after(state, call)
            model.apply(call)
        else:
            with pytest.raises(DomainError) as refused:
                after(state, call)
            assert refused.value.code == "STAY_STATE"
        assert state == model.state()
        # Invariants whatever happened: settled only after discharge, a cancelled stay is
        # final, and a stay with a live settlement cannot be cancelled.
        assert not (model.cancelled and model.settled)
        assert not (model.settled and not model.discharged)


def test_the_refusal_names_the_state():
    with pytest.raises(DomainError) as refused:
        after(S, StayCall.UPLOAD)
    assert "已结算" in refused.value.message and "2301" in refused.value.message


def test_settled_is_derived_from_a_live_settlement_of_a_discharged_stay():
    assert current("discharged", True) == S
    assert current("discharged", False) == D
    assert current("admitted", False) == A
    assert current("cancelled", False) == C
    with pytest.raises(ValueError):
        current("settled", False)  # never stored


def test_a_cancelled_stay_allows_nothing():
    assert ALLOWED[C] == {}


ADMISSION = {"mdtrtinfo": {"psn_no": "P1", "mdtrt_cert_type": "02", "mdtrt_cert_no": "X",
                           "begntime": "2027-03-01 08:00:00", "ipt_no": "ZY001",
                           "adm_dept_codg": "A03", "adm_dept_name": "内科", "med_type": "21"},
             "diseinfo": [{"diag_code": "J18.900", "diag_name": "肺炎"}]}


def test_admission_parses_and_refuses_another_med_type():
    adm = parse_admission(ADMISSION)
    assert (adm.ipt_no, adm.med_type, adm.adm_dept_name) == ("ZY001", "21", "内科")
    with pytest.raises(DomainError) as refused:
        parse_admission({**ADMISSION, "mdtrtinfo": {**ADMISSION["mdtrtinfo"], "med_type": "11"}})
    assert refused.value.code == "INVALID_INPUT"
    with pytest.raises(DomainError):
        parse_admission({**ADMISSION, "mdtrtinfo": {**ADMISSION["mdtrtinfo"], "ipt_no": ""}})


def test_discharge_needs_an_endtime():
    dscg = parse_discharge({"dscginfo": {"mdtrt_id": "Z1", "psn_no": "P1",
                                         "endtime": "2027-03-05 10:00:00"}})
    assert dscg.endtime.day == 5
    with pytest.raises(DomainError):
        parse_discharge({"dscginfo": {"mdtrt_id": "Z1", "psn_no": "P1"}})


BILL = {"psn_no": "P1", "mdtrt_cert_type": "02", "mdtrt_cert_no": "X",
        "medfee_sumamt": "100.00", "psn_setlway": "01", "mdtrt_id": "Z1", "insutype": "390",
        "acct_used_flag": "1", "mid_setl_flag": "0"}


def test_stay_bill_and_the_mid_settlement_refusal():
    bill = parse_stay_bill(BILL)
    assert (bill.medfee_fen, bill.chrg_bchno, bill.use_accounts) == (10000, STAY_BATCH, True)
    with pytest.raises(DomainError) as refused:
        parse_stay_bill({**BILL, "mid_setl_flag": "1"})
    assert refused.value.code == "MID_SETTLEMENT_UNSUPPORTED"
    with pytest.raises(DomainError) as refused:
        parse_stay_bill({**BILL, "mid_setl_flag": "2"})
    assert refused.value.code == "INVALID_INPUT"


def test_line_ref_whole_stay():
    assert parse_line_ref({"mdtrt_id": "Z1", "psn_no": "P1", "feedetl_sn": "0000"}).whole_stay
    assert not parse_line_ref({"mdtrt_id": "Z1", "psn_no": "P1", "feedetl_sn": "7"}).whole_stay


def test_every_region_has_an_inpatient_fund_rule_marked_as_example():
    """fund_rules.inpatient is in every region's policy (from its province's file); the
    shipped values are examples until the regional notices set them."""
    from gongji.domain.policy_files import known_regions, shipped_policy

    for admdvs in known_regions():
        policy = shipped_policy(admdvs)
        rule = policy.fund_rule("inpatient")
        assert rule.deductible_fen > 0 and 0 < rule.ratio_bp <= 10_000, admdvs
        assert any("fund_rules.inpatient" in path for path in policy.examples), admdvs


ODD = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=40),
                st.decimals(allow_nan=False), st.floats(allow_nan=False),
                st.lists(st.integers(), max_size=3), st.dictionaries(st.text(max_size=5),
                                                                     st.integers(), max_size=2))


@given(st.sampled_from(sorted({**ADMISSION["mdtrtinfo"], **BILL})), ODD,
       st.sampled_from(["admission", "discharge", "bill", "line"]))
def test_any_odd_field_is_parsed_or_refused_with_a_code(name, value, which):
    """Whatever a HIS puts in a field: a value, or a coded refusal (never another error)."""
    from gongji.domain.stay import parse_stay_settlement_ref

    dscg = {"mdtrt_id": "Z1", "psn_no": "P1", "endtime": "2027-03-05 10:00:00"}
    calls = {"admission": lambda: parse_admission(
                 {**ADMISSION, "mdtrtinfo": {**ADMISSION["mdtrtinfo"], name: value}}),
             "discharge": lambda: parse_discharge({"dscginfo": {**dscg, name: value}}),
             "bill": lambda: parse_stay_bill({**BILL, name: value}),
             "line": lambda: (parse_line_ref({**BILL, "feedetl_sn": "1", name: value}),
                              parse_stay_settlement_ref({**BILL, "setl_id": "S1",
                                                         name: value}))}
    try:
        calls[which]()
    except DomainError as refused:
        assert refused.code in ("INVALID_INPUT", "INVALID_AMOUNT", "MID_SETTLEMENT_UNSUPPORTED")
