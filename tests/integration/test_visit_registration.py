"""2201 挂号 stays exactly once after its exactly-once record is purged: the msgid is kept
on the visit, so a late retry answers the same visit and never registers a second."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from gongji.store.schema import idempotency, visits
from support import ok
from test_visit_races import HOSPITAL, send


def registration(patient: dict) -> dict:
    return {"data": {"psn_no": patient["psn_no"], "insutype": patient["insutype"],
                     "begntime": "2025-06-01 09:00:00", "mdtrt_cert_type": "02",
                     "mdtrt_cert_no": patient["certno"], "ipt_otp_no": "MZ1"}}


def test_a_2201_retried_after_the_purge_answers_the_same_visit(world):
    world.institution(HOSPITAL)
    patient, other = world.person("患者"), world.person("他人")
    first = ok(send(world, "2201", registration(patient), "R1"))
    with world.ctx.uow() as uow:  # what `gongji idempotency purge` does after retention
        uow.conn.execute(delete(idempotency))
        uow.commit()
    assert ok(send(world, "2201", registration(patient), "R1")) == first
    assert send(world, "2201", registration(other), "R1")["err_code"] == "IDEMPOTENCY_CONFLICT"
    with world.ctx.read() as uow:
        assert uow.conn.execute(select(func.count()).select_from(visits)).scalar() == 1
