"""A stay's 2301 racing its 2304, on a real PostgreSQL, many runs: both lock the stay's
visit row first (services/settlement/stays.py), so the late lines are either in the
settled bill (and the 2304's total no longer matches: AMOUNT_MISMATCH) or refused
(STAY_STATE: settled), never half; every live settlement's lines sum to its total."""

from __future__ import annotations

import pytest

from support import World, ok
from test_visit_races import HOSPITAL, lines, race, send, settled_batches_are_whole

RUNS = 25


@pytest.fixture
def patient(pg_world):
    world = pg_world
    world.institution(HOSPITAL)
    helper = world.person("共济人", credit="10000.00")
    parent = world.person("住院亲属", insutype="390")
    world.bind(helper, parent, "child")
    return parent


def discharged_stay(world: World, patient: dict, run: int) -> str:
    out = ok(send(world, "2401", {
        "mdtrtinfo": {"psn_no": patient["psn_no"], "begntime": "2025-06-01 08:00:00",
                      "mdtrt_cert_type": "02", "mdtrt_cert_no": patient["certno"],
                      "med_type": "21", "ipt_no": f"ZY{run}"},
        "diseinfo": []}, f"{HOSPITAL}ADM{run:04d}"))
    mdtrt_id = out["result"]["mdtrt_id"]
    ok(send(world, "2301", lines(mdtrt_id, patient, "IPT", ["F1", "F2", "F3"]),
            f"{HOSPITAL}UPL{run:04d}"))
    ok(send(world, "2402", {"dscginfo": {"mdtrt_id": mdtrt_id, "psn_no": patient["psn_no"],
                                         "endtime": "2025-06-03 10:00:00"}},
            f"{HOSPITAL}DSC{run:04d}"))
    return mdtrt_id


def stay_bill(mdtrt_id: str, patient: dict, total: str) -> dict:
    return {"data": {"psn_no": patient["psn_no"], "mdtrt_cert_type": "02",
                     "mdtrt_cert_no": patient["certno"], "medfee_sumamt": total,
                     "psn_setlway": "01", "mdtrt_id": mdtrt_id, "acct_used_flag": "1",
                     "mid_setl_flag": "0"}}


def test_an_upload_racing_a_stay_settlement_is_in_the_bill_or_refused(pg_world, patient):
    outcomes = [one_race(pg_world, patient, run) for run in range(RUNS)]
    # settled first: the late lines are refused; uploaded first: the 2304's 30.00 is not the
    # stay's 50.00 any more, and the HIS settles again with the right total
    assert set(outcomes) <= {("STAY_STATE", ""), ("", "AMOUNT_MISMATCH")}, outcomes
    settled_batches_are_whole(pg_world)
    print("outcomes seen:", set(outcomes))


def one_race(world: World, patient: dict, run: int) -> tuple[str, str]:
    mdtrt_id = discharged_stay(world, patient, run)
    answers = race(
        lambda: send(world, "2301", lines(mdtrt_id, patient, "IPT", ["F4", "F5"]),
                     f"{HOSPITAL}U{run:04d}"),
        lambda: send(world, "2304", stay_bill(mdtrt_id, patient, "30.00"),
                     f"{HOSPITAL}S{run:04d}"))
    if answers[1]["err_code"]:
        ok(send(world, "2304", stay_bill(mdtrt_id, patient, "50.00"), f"{HOSPITAL}T{run:04d}"))
    return answers[0]["err_code"], answers[1]["err_code"]
