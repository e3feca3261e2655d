"""The gateway fuzzed with malformed envelopes and inputs: fields of the wrong type,
missing or extra, huge and tiny numbers, NaN and Infinity, deep nesting, odd unicode
(NUL, surrogates, full-width digits, right-to-left marks), bodies that are not JSON or
not UTF-8. Whatever comes in, the answer is never a 5xx: HTTP 200 with an envelope that
either succeeded (infcode 0, an output object) or refused with a catalogued err_code and a
message, or 403 when the envelope names another institution than the token's. And the
books still balance afterwards.
"""

from __future__ import annotations

import json
import uuid

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from figures import record
from gongji.domain.errors import CATALOGUE
from gongji.services.operations.verify import verify
from security_world import SecurityWorld

PATH = "/fsi/api/rsfComIfsService/callService"
INFNOS = ["1101", "2101", "2102", "2103", "2206", "2207", "2208", "3201", "3202"]
FAST, DEEP = 120, 2500
TALLY = {"envelopes": 0, "succeeded": 0}

ODD_TEXT = st.sampled_from([
    "", " ", "\x00", "a\x00b", "\ud800", "１２３", "\u202e", "😀" * 40, "x" * 5000, "0" * 300,
    "NaN", "Infinity", "-0", "1e5", "1E-3", "12.345", "-0.01", "99999999.99", "100000000.00",
    "0x10", " 12.00 ", "１２.００", "null", "true", "[]", "{}", "' OR 1=1 --", "2025-02-30",
    "2025-06-01 10:00:00", "9999-12-31", "542521198001010012", "H%s", "../../etc/passwd",
])
ODD_NUMBERS = st.sampled_from([
    0, -1, 1, 10**30, -(10**30), 2**63, 2**64 + 1, 1e308, -1e308, 1e-300, 0.1 + 0.2, 12.345,
    99999999.99, 100000000.0, float("inf"), float("-inf"), float("nan"), True, False,
])
SCALARS = st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20) \
    | ODD_TEXT | ODD_NUMBERS
ANY_JSON = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=4), max_leaves=10)


def base_envelopes(world: SecurityWorld) -> dict[str, dict]:
    """A well-formed envelope for each transaction, to be spoiled."""
    child, hospital = world.child, world.hospital
    if not hasattr(world, "fuzz_setl_id"):
        world.fuzz_setl_id = world.call("2207", world.bill(child, "5.00"))["setlinfo"]["setl_id"]
    bill = world.bill(child, "12.00", "10.00")
    period = {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-30"}
    data = {
        "1101": {"mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"]},
        "2206": bill, "2207": bill,
        "2208": {"setl_id": world.fuzz_setl_id, "psn_no": child["psn_no"]},
        "3201": period | {"medfee_sumamt": "1.00", "fund_pay_sumamt": "0", "acct_pay": "0",
                          "acct_mulaid_pay": "1.00", "fixmedins_setl_cnt": 1},
        "3202": period | {"detail": [{"setl_id": world.fuzz_setl_id, "medfee_sumamt": "5.00",
                                      "fund_pay_sumamt": 0, "acct_pay": 0,
                                      "acct_mulaid_pay": "5.00"}]},
    }
    return {infno: world.envelope(infno, payload, hospital) for infno, payload in data.items()}


@st.composite
def spoiled(draw, bases: dict[str, dict]) -> dict:  # noqa: ANN001
    """A valid envelope with a few of its fields, or of its input's, replaced or dropped."""
    envelope = json.loads(json.dumps(draw(st.sampled_from(sorted(bases.items())))[1]))
    envelope["msgid"] = f"FZ{uuid.uuid4().hex[:16]}"
    for _ in range(draw(st.integers(1, 3))):
        target = envelope
        data = envelope["input"].get("data") if isinstance(envelope.get("input"), dict) else None
        if isinstance(data, dict) and draw(st.booleans()):
            target = data
        key = draw(st.sampled_from(sorted(target) + ["extra", "infno", "input"]))
        action = draw(st.sampled_from(["replace", "replace", "drop", "odd"]))
        if action == "drop":
            target.pop(key, None)
        elif action == "odd":
            target[key] = draw(ODD_TEXT | ODD_NUMBERS)
        else:
            target[key] = draw(ANY_JSON | st.sampled_from(INFNOS))
    return envelope


RAW_BODIES = st.one_of(
    st.binary(max_size=200),
    st.sampled_from([b"", b"null", b"[]", b"{}", b"\xef\xbb\xbf{}", b'{"infno": "1101"',
                     b'{"a": 1, "a": 2}', b"\xff\xfe{\x00}\x00", b'{"infno": NaN}',
                     b"[" * 100_000 + b"]" * 100_000, b'{"x": ' + b"1" * 5000 + b"}",
                     b'{"input": {"data": ' + b"{" * 5000 + b"}" * 5000 + b"}}",
                     b"x" * (300 * 1024)]),
    st.text(max_size=200).map(lambda t: t.encode("utf-8", "surrogatepass")),
)


def post(world: SecurityWorld, body: bytes):  # noqa: ANN201
    return world.client.post(PATH, content=body, headers={
        "Authorization": f"Bearer {world.tokens['institution']}",
        "Content-Type": "application/json"})


def check_answer(world: SecurityWorld, response, sent: object) -> None:  # noqa: ANN001
    TALLY["envelopes"] += 1
    assert response.status_code in (200, 403), (response.status_code, response.text[:500], sent)
    answer = response.json()
    assert answer["infcode"] in (0, -1), answer
    if response.status_code == 403:
        assert answer["err_code"] == "INSTITUTION_MISMATCH" == answer["code"], answer
    elif answer["infcode"] == -1:
        assert answer["err_code"] in CATALOGUE and answer["err_msg"], answer
    else:
        TALLY["succeeded"] += 1
        assert isinstance(answer["output"], dict) and answer["err_code"] == "", answer


def encoded(envelope: dict) -> bytes:
    """JSON as a careless client might send it: NaN/Infinity literals, lone surrogates."""
    return json.dumps(envelope, ensure_ascii=False).encode("utf-8", "surrogatepass")


def tallied(kind: str, world: SecurityWorld, run) -> None:  # noqa: ANN001
    before = dict(TALLY)
    run()
    broken = [(r.check.name, r.violations) for r in verify(world.ctx) if r.total]
    assert broken == [], f"the books no longer balance after the {kind}"
    record(f"gateway fuzz {world.backend} {kind}: {TALLY['envelopes'] - before['envelopes']} "
           f"bodies, {TALLY['succeeded'] - before['succeeded']} succeeded, the rest refused "
           "with a coded envelope")


def fuzz_envelopes(world: SecurityWorld, examples: int) -> None:
    bases = base_envelopes(world)

    @given(envelope=spoiled(bases))
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(envelope: dict) -> None:
        check_answer(world, post(world, encoded(envelope)), envelope)

    tallied("spoiled envelopes", world, run)


def fuzz_bodies(world: SecurityWorld, examples: int) -> None:
    @given(body=RAW_BODIES)
    @settings(max_examples=examples, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    def run(body: bytes) -> None:
        check_answer(world, post(world, body), body[:200])

    tallied("raw bodies", world, run)


def test_spoiled_envelopes_get_an_envelope_with_a_coded_answer(backend_world):
    fuzz_envelopes(backend_world, FAST)


def test_bodies_that_are_not_envelopes_get_a_coded_refusal(backend_world):
    fuzz_bodies(backend_world, FAST // 2)


@pytest.mark.deep
def test_many_spoiled_envelopes_get_an_envelope_with_a_coded_answer(backend_world):
    fuzz_envelopes(backend_world, DEEP)


@pytest.mark.deep
def test_many_bodies_that_are_not_envelopes_get_a_coded_refusal(backend_world):
    fuzz_bodies(backend_world, DEEP // 2)
