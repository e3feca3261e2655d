"""The v2 half of the gateway attacked as an outside client would, over HTTP, on SQLite and
PostgreSQL: 9001/9002, 2201–2207 with a visit's mdtrt_id, 2101/2102 with drugdetail, 2601
and 5203, each sent well formed and then spoiled: odd numbers ("1e309" as text and as a
JSON number, "0.000000001", "-0", 1e-7, 40-digit amounts, huge cnt and pric), objects where
strings belong, 1,001 lines, very long feedetl_sn, lone surrogates, the sign_no of another
institution. Whatever comes in: HTTP 200 with infcode 0 or a catalogued err_code, never a
500; a refused call moves no money (the journal's postings are counted around each call);
and at the end `gongji verify`'s checks are clean."""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from figures import record
from gongji.domain.errors import CATALOGUE
from gongji.services.operations.verify import verify
from gongji.store.schema import postings
from odd_json import MISSING, ODD, encoded, places, put
from reference_client import PATH, ReferenceClient
from v2_world import LINES, TOTAL, Family, fee_line

FAST, DEEP = 60, 1500
MANY = 1_001  # one line more than a 2204 or a drugdetail may carry


class Target:
    """The family of v2_world with a visit holding lines, a settled batch and a pharmacy
    sale; every hospital and the pharmacy signed in; a second hospital's sign_no."""

    def __init__(self, api, clock):  # noqa: ANN001
        self.api = api
        self.family = family = Family(api, clock)
        his, child = family.his, family.child
        self.foreign_sign_no = family.other_his.sign_in()
        his.sign_in()
        family.pharmacy.sign_in()
        self.mdtrt_id = his.register(child, "MZFUZZ1", "2025-06-01 09:05:00")
        his.upload(child, self.mdtrt_id, "B0", [fee_line("F0", LINES[0][0])])
        self.setl_id = his.must("2207", his.batch_bill(child, self.mdtrt_id, "B0", "25.00"))[
            "setlinfo"]["setl_id"]
        his.upload(child, self.mdtrt_id, "B1", [fee_line(f"F{i}", spec)
                                                for i, (spec, _) in enumerate(LINES, 1)])
        self.sent = self.succeeded = 0

    def inputs(self) -> dict[str, tuple[ReferenceClient, dict]]:
        """A well-formed input for each code, and who sends it."""
        f, his, child, visit = self.family, self.family.his, self.family.child, self.mdtrt_id
        who = {"psn_no": child["psn_no"], "mdtrt_id": visit}
        lines = [fee_line(f"N{uuid.uuid4().hex[:8]}", spec, mdtrt_id=visit,
                          psn_no=child["psn_no"], chrg_bchno="B2") for spec, _ in LINES]
        drugs = f.pharmacy.drugs(child, TOTAL, [fee_line(f"D{i}", spec)
                                                for i, (spec, _) in enumerate(LINES, 1)],
                                 "2025-06-01 09:40:00")
        return {
            "9001": (his, {"signIn": {"opter_no": "0001", "mac": "00-1A", "ip": "10.0.0.9"}}),
            "9002": (his, {"signOut": {"sign_no": his.sign_no, "opter_no": "0001"}}),
            "2201": (his, {"data": his.credential(child) | {
                "begntime": "2025-06-01 10:05:00", "ipt_otp_no": "MZFUZZ2"}}),
            "2202": (his, {"data": who | {"ipt_otp_no": "MZFUZZ1"}}),
            "2203": (his, {"mdtrtinfo": who | {"med_type": "11",
                                               "begntime": "2025-06-01 09:05:00"},
                           "diseinfo": [{"diag_type": "1", "diag_srt_no": "1",
                                         "diag_code": "J06.9", "diag_name": "上感"}]}),
            "2204": (his, {"feedetail": lines}),
            "2205": (his, {"data": who | {"chrg_bchno": "B2"}}),
            "2206": (his, his.batch_bill(child, visit, "B1", TOTAL)),
            "2207": (his, his.batch_bill(child, visit, "B1", TOTAL)),
            "2101": (f.pharmacy, drugs), "2102": (f.pharmacy, drugs),
            "2601": (his, {"data": {"psn_no": child["psn_no"], "omsgid": "H54250001X",
                                    "oinfno": "2207"}}),
            "5203": (his, {"data": who | {"setl_id": self.setl_id}}),
        }

    def postings(self) -> int:
        with self.api.client.app.state.ctx.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(postings)).scalar_one()

    def send(self, client: ReferenceClient, infno: str, input_: dict,
             sign_no: str = "") -> dict:
        """One envelope, raw; the answer, checked: never a 5xx, a refusal coded and still."""
        envelope = client.envelope(infno, input_, f"FZ{uuid.uuid4().hex[:18]}")
        envelope["sign_no"] = sign_no  # "" by default: accepted, and a 9002 cannot spoil it
        before = self.postings()
        response = self.api.client.post(PATH, content=encoded(envelope), headers={
            **self.api.as_(client.token), "Content-Type": "application/json"})
        self.sent += 1
        if response.status_code == 413:  # the edge's body limit (CONTRACT v1), before parsing
            assert response.json()["code"] == "TOO_LARGE" and self.postings() == before
            return {"infcode": -1, "err_code": "TOO_LARGE"}
        assert response.status_code == 200, (infno, response.status_code, response.text[:300])
        answer = response.json()
        assert answer["infcode"] in (0, -1), answer
        if answer["infcode"] == -1:
            assert answer["err_code"] in CATALOGUE and answer["err_msg"], answer
            assert self.postings() == before, f"a refused {infno} moved money: {answer}"
        else:
            assert isinstance(answer["output"], dict) and answer["err_code"] == "", answer
            self.succeeded += 1
        return answer

    def books_balance(self) -> None:
        broken = [(r.check.name, r.violations) for r in verify(self.api.client.app.state.ctx)
                  if r.violations and not r.check.advisory]
        assert broken == [], broken


@pytest.fixture
def target(api, clock):
    return Target(api, clock)


def flooded(input_: dict) -> dict | None:
    """The input with its line list grown to 1,001 distinct lines; None where it has none."""
    for key in ("feedetail", "drugdetail"):
        lines = input_.get(key)
        if isinstance(lines, list) and lines and isinstance(lines[0], dict):
            return input_ | {key: [lines[0] | {"feedetl_sn": f"M{i:05d}"} for i in range(MANY)]}
    return None


# --- each odd value in each money field of each line-bearing call --------------------------

MONEY_PLACES = [("2204", ("feedetail", 0, field)) for field in ("pric", "cnt",
                                                                 "det_item_fee_sumamt")] + [
    ("2102", ("drugdetail", 0, field)) for field in ("pric", "cnt", "det_item_fee_sumamt")] + [
    ("2102", ("druginfo", "medfee_sumamt")), ("2207", ("data", "medfee_sumamt")),
    ("2207", ("data", "inscp_scp_amt"))]
OPTIONAL = {"inscp_scp_amt"}  # may be "" or absent: the platform computes it


def odd_values(place: tuple) -> list:
    return [odd for odd in ODD if not (place[-1] in OPTIONAL and odd in ("", None))]


def test_odd_amounts_in_every_money_field_are_refused_with_a_code(target):
    inputs = target.inputs()
    before = target.postings()
    for infno, place in MONEY_PLACES:
        for odd in odd_values(place):
            client, input_ = inputs[infno]
            spoiled = json.loads(json.dumps(input_))
            put(spoiled, place, odd)
            answer = target.send(client, infno, spoiled)
            assert answer["infcode"] == -1, (infno, place, odd, answer)
    assert target.postings() == before
    target.books_balance()
    record(f"gateway v2 odd amounts: {target.sent} calls, every one refused with a code")


# "0001-01-01 00:00:00", a HIS's empty date, was a 500 (year 0 in UTC) in begntime and
# fee_ocur_time before domain/visit.TIME_YEARS
TEXT_ODD = ["S" * 10_000, "\ud800", {"nested": ["object"]}, "2025-02-30 25:61:00",
            "9999-12-31 23:59:59", "0001-01-01 00:00:00"]


def test_every_text_field_long_broken_or_an_object_gets_a_coded_answer(target):
    """Each text field of each input (feedetl_sn, codes, ids, names, times ...) in turn."""
    inputs = target.inputs()
    for infno, (client, input_) in sorted(inputs.items()):
        for place in places(input_):
            if not isinstance(_at(input_, place), str):
                continue
            for odd in TEXT_ODD:
                spoiled = json.loads(json.dumps(input_))
                put(spoiled, place, odd)
                target.send(client, infno, spoiled)
    target.books_balance()
    record(f"gateway v2 text fields: {target.sent} calls, {target.succeeded} succeeded, the "
           "rest refused with a code")


def _at(node: object, path: tuple) -> object:
    for step in path:
        node = node[step]
    return node


@pytest.mark.parametrize("infno", ["2204", "2101", "2102"])
def test_a_thousand_and_one_lines_are_refused(target, infno):
    client, input_ = target.inputs()[infno]
    answer = target.send(client, infno, flooded(input_))
    assert answer["infcode"] == -1 and answer["err_code"] == "INVALID_INPUT", answer


@pytest.mark.parametrize("infno", ["2201", "2204", "2207", "2102", "5203", "9002"])
def test_another_institutions_sign_no_is_refused_and_nothing_is_done(target, infno):
    client, input_ = target.inputs()[infno]
    answer = target.send(client, infno, input_, sign_no=target.foreign_sign_no)
    assert answer["err_code"] == "SIGN_NO_INVALID", answer


@pytest.mark.parametrize("infno", ["2202", "2203", "2204", "2205", "2206", "2207", "5203"])
def test_another_hospital_cannot_touch_or_read_this_hospitals_visit(target, infno):
    _, input_ = target.inputs()[infno]
    answer = target.send(target.family.other_his, infno, input_)
    assert answer["infcode"] == -1, answer


def test_a_hospital_cannot_sign_out_another_institutions_sign_in(target):
    his, other = target.family.his, target.family.other_his
    answer = target.send(his, "9002", {"signOut": {"sign_no": target.foreign_sign_no,
                                                   "opter_no": "0001"}})
    assert answer["err_code"] == "SIGN_NO_INVALID", answer
    still = target.send(other, "1101", {"data": {"mdtrt_cert_type": "02",
                                                 "mdtrt_cert_no": target.family.child["certno"]}},
                        sign_no=target.foreign_sign_no)
    assert still["infcode"] == 0, still


def test_the_well_formed_inputs_succeed(target):
    """The fuzzing below starts from these: were they refused, it would test only refusals."""
    inputs = target.inputs()
    for infno in ("9001", "2203", "2204", "2206", "2101", "2102", "5203", "2601", "2205",
                  "2207", "9002"):
        client, input_ = inputs[infno]
        answer = target.send(client, infno, input_)
        assert answer["infcode"] == 0, (infno, answer)
    target.books_balance()


# --- hypothesis: spoiled envelopes --------------------------------------------------------

@st.composite
def spoiled(draw, target: Target) -> tuple[ReferenceClient, str, dict, str | None]:  # noqa: ANN001
    infno, (client, input_) = draw(st.sampled_from(sorted(target.inputs().items())))
    input_ = json.loads(json.dumps(input_))
    for _ in range(draw(st.integers(1, 3))):
        action = draw(st.sampled_from(["odd", "odd", "odd", "drop", "flood"]))
        where = places(input_)
        if action == "flood" and flooded(input_) is not None:
            input_ = flooded(input_)
        elif where:
            path = draw(st.sampled_from(where))
            put(input_, path, MISSING if action == "drop" else draw(st.sampled_from(ODD)))
    sign_no = draw(st.sampled_from(["", "", client.sign_no, target.foreign_sign_no, "\ud800",
                                    "9" * 40, "S" * 10_000]))
    return client, infno, input_, sign_no


def fuzz(target: Target, examples: int) -> None:
    @given(case=spoiled(target))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(case: tuple) -> None:
        client, infno, input_, sign_no = case
        target.send(client, infno, input_, sign_no)

    run()
    target.books_balance()
    record(f"gateway v2 fuzz: {target.sent} envelopes ({target.succeeded} succeeded), never "
           "a 500, no refused call moved money, the books balance")


def test_spoiled_v2_envelopes_get_a_coded_answer_and_move_no_money_when_refused(target):
    fuzz(target, FAST)


@pytest.mark.deep
def test_many_spoiled_v2_envelopes_get_a_coded_answer(target):
    fuzz(target, DEEP)
