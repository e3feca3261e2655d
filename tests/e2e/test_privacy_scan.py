"""No answer shows anyone a full ID number or full name of a person other than the caller,
whatever the endpoint, the role or the outcome (refusals included), CSV and Excel too.

The only exceptions are the documented ones, declared per row of the authorisation table:
the operator's reference data, the hall record a clerk of the person's region reads while
the person stands at the window with their ID card, and gateway 1101, which answers the
patient's own data to the institution the patient presents their credential to.
"""

from __future__ import annotations

import io
import json

import openpyxl

from authorisation_table import ROWS, Row
from security_world import ROLES, SecurityWorld

GATEWAY = "/fsi/api/rsfComIfsService/callService"


def readable(response) -> str:  # noqa: ANN001
    """The response as text; an Excel workbook as the JSON of its cells."""
    if response.content[:2] == b"PK":
        sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
        return json.dumps([list(r) for r in sheet.iter_rows(values_only=True)],
                          ensure_ascii=False, default=str)
    return response.content.decode("utf-8-sig", errors="replace")


def leaks(world: SecurityWorld, text: str, allowed: set[str]) -> list[str]:
    """Full ID numbers and names of every person of the world but the `allowed` psn_nos."""
    return [f"{person['psn_no']}: {secret}"
            for psn_no, person in world.people.items() if psn_no not in allowed
            for secret in (person["certno"], person["psn_name"]) if secret in text]


def allowed_for(world: SecurityWorld, row: Row, role: str, call) -> set[str]:  # noqa: ANN001
    own = {"owner": call.owner or world.mother, "other": world.stranger}.get(role)
    allowed = {own["psn_no"]} if own else set()
    if role in row.shown_to:
        allowed |= {person["psn_no"] for person in call.shows}
    return allowed


def test_no_endpoint_shows_any_role_someone_elses_full_id_number_or_name(sqlite_world):
    world, found, scanned = sqlite_world, [], 0
    for row in ROWS:
        for role in ROLES:
            call = row.call(world)
            response = world.client.request(row.method, call.url, json=call.body,
                                            headers=world.headers(role, call.owner))
            scanned += 1
            for leak in leaks(world, readable(response), allowed_for(world, row, role, call)):
                found.append(f"{row.id} as {role} ({response.status_code}): {leak}")
    assert found == [], "\n".join(found)
    assert scanned == len(ROWS) * len(ROLES)


def test_every_person_of_the_household_sees_only_masked_counterparts(sqlite_world):
    world = sqlite_world
    own_reads = [row for row in ROWS if row.method == "GET" and row.route.startswith("/api/v1/")
                 and row.expect[1] == row.expect[2] == 200]
    assert len(own_reads) >= 9  # account, bindings, invitations, entries (3), settlements...
    found = []
    for person in (world.mother, world.father, world.child, world.granny):
        for row in own_reads:
            response = world.client.get(row.route, headers=world.headers("owner", person))
            assert response.status_code == 200, (row.id, response.text)
            found += [f"{row.id} as {person['psn_name']}: {leak}"
                      for leak in leaks(world, readable(response), {person["psn_no"]})]
    assert found == [], "\n".join(found)


SETTLING = {"2101", "2102", "2206", "2207"}


def test_gateway_answers_show_the_institution_only_the_patients_own_identity(sqlite_world):
    world = sqlite_world
    child, hospital, pharmacy = world.child, world.hospital, world.pharmacy
    settled = world.call("2207", world.bill(child, "300.00", "250.00"))["setlinfo"]["setl_id"]
    bought = world.call("2102", world.bill(child, "30.00"), pharmacy)["setlinfo"]["setl_id"]
    calls = [
        (hospital, "1101", {"mdtrt_cert_type": "02", "mdtrt_cert_no": child["certno"]}, True),
        (hospital, "1101", {"mdtrt_cert_type": "03", "mdtrt_cert_no": child["card_no"]}, True),
        (hospital, "2206", world.bill(child, "200.00", "150.00"), False),
        (hospital, "2207", world.bill(child, "120.00", "100.00"), False),
        (hospital, "2208", {"setl_id": settled, "psn_no": child["psn_no"]}, False),
        (pharmacy, "2101", world.bill(child, "20.00"), False),
        (pharmacy, "2102", world.bill(child, "25.00"), False),
        (pharmacy, "2103", {"setl_id": bought, "psn_no": child["psn_no"]}, False),
        (hospital, "3201", {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-30",
                            "medfee_sumamt": 1, "fund_pay_sumamt": 1, "acct_pay": 0,
                            "acct_mulaid_pay": 1, "fixmedins_setl_cnt": 1}, False),
        (hospital, "3202", {"stmt_begndate": "2025-06-01", "stmt_enddate": "2025-06-30",
                            "detail": [{"setl_id": "S-unknown", "medfee_sumamt": 1,
                                        "fund_pay_sumamt": 0, "acct_pay": 0,
                                        "acct_mulaid_pay": 1}]}, False),
        (hospital, "2207", world.bill(child, "10.00") | {"mdtrt_cert_no": world.mother["certno"]},
         False),  # someone else's credential: refused, and nobody is named
    ]
    found = []
    for code, infno, data, shows_patient in calls:
        token = world.tokens["institution"] if code == hospital else world.token(
            "institution", code)
        response = world.client.post(GATEWAY, json=world.envelope(infno, data, code),
                                     headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 200, response.text
        # CONTRACT v2: a settlement's setlinfo names its own patient (psn_name), never another
        allowed = {child["psn_no"]} if shows_patient or infno in SETTLING else set()
        found += [f"{infno}: {leak}" for leak in leaks(world, response.text, allowed)]
        if shows_patient:
            assert child["certno"] in response.text  # 1101 does answer the patient's own data
    assert found == [], "\n".join(found)
