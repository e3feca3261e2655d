"""A small world builder for integration tests: persons, institutions, bindings, bills.

It drives the services exactly as the edges do, including the gateway envelope
(`gateway.process`), so tests read as the domain does.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select

from gongji.api import gateway
from gongji.domain.idcard import make_certno
from gongji.services.binding.actor import Actor
from gongji.services.binding.bindings import hall_bind
from gongji.services.context import Context
from gongji.services.registry import reference
from gongji.store.db import make_engine
from gongji.store.schema import accounts, fund_accumulators, persons

_seq = itertools.count(1)
REGION_COUNTY = {"542500": "542521", "451000": "451002"}


class Clock:
    """A clock tests can move."""

    def __init__(self, start: datetime | None = None):
        self.now = start or datetime(2025, 6, 1, 2, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


class World:
    def __init__(self, url: str, clock: Clock | None = None, pool_size: int = 10):
        self.clock = clock or Clock()
        self.ctx = Context(make_engine(url, pool_size=pool_size), self.clock)
        self.msgids = itertools.count(1)

    def close(self) -> None:
        self.ctx.engine.dispose()

    # reference data -------------------------------------------------------------------------
    def person(self, name: str = "张三", insutype: str = "310", region: str = "542500",
               credit: str | None = None, born: date = date(1980, 1, 1),
               status: str = "1") -> dict:
        n = next(_seq)
        certno = make_certno(REGION_COUNTY[region], born, n % 1000)
        while self._certno_taken(certno):
            n = next(_seq)
            certno = make_certno(REGION_COUNTY[region], born, n % 1000)
        row = reference.create_person(self.ctx, {
            "certno": certno, "psn_name": name, "insutype": insutype, "insuplc_admdvs": region,
            "psn_insu_stas": status, "card_no": f"C{n:08d}"})
        if credit:
            reference.credit_account(self.ctx, row["psn_no"], {"amount": credit,
                                                               "ref": f"seed-{row['psn_no']}"})
        return row

    def _certno_taken(self, certno: str) -> bool:
        with self.ctx.read() as uow:
            return uow.conn.execute(select(persons.c.id).where(persons.c.certno == certno)
                                    ).first() is not None

    def credit(self, person: dict, amount: str, ref: str) -> dict:
        return reference.credit_account(self.ctx, person["psn_no"], {"amount": amount, "ref": ref})

    def kin(self, person: dict, relative: dict, relation: str) -> None:
        reference.add_kinship(self.ctx, {"certno": person["certno"],
                                         "relative_certno": relative["certno"],
                                         "relation": relation})

    def institution(self, code: str = "H54250001", kind: str = "hospital",
                    region: str = "542500") -> str:
        reference.create_institution(self.ctx, {"fixmedins_code": code, "fixmedins_name": code,
                                                "fixmedins_type": kind, "admdvs": region})
        return code

    def bind(self, helper: dict, beneficiary: dict, relation: str, *,
             register: bool = True) -> int:
        """Register the kinship (what the beneficiary is to the helper) and bind at the hall."""
        if register:
            self.kin(helper, beneficiary, relation)
        answer = hall_bind(self.ctx, {"helper_certno": helper["certno"],
                                      "beneficiary_certno": beneficiary["certno"],
                                      "relation": relation, "documents_checked": True},
                           Actor("clerk", "clerk-1", "hall", helper["insuplc_admdvs"]))
        return answer["binding_id"]

    # gateway --------------------------------------------------------------------------------
    def call(self, code: str, infno: str, data: dict, msgid: str | None = None) -> dict:
        envelope = {"infno": infno, "msgid": msgid or f"M{next(self.msgids):06d}",
                    "mdtrtarea_admvs": "542500", "insuplc_admdvs": "542500",
                    "fixmedins_code": code, "opter": "t", "inf_time": "2025-06-01 10:00:00",
                    "input": {"data": data}}
        status, answer = gateway.process(self.ctx, code, json.dumps(envelope).encode())
        answer["http_status"] = status
        return answer

    @staticmethod
    def bill(patient: dict, medfee: str, inscp: str = "0", *, ownpay: str | None = None,
             flag: str = "1", cert: str = "02") -> dict:
        ownpay_value = ownpay if ownpay is not None else str(_dec(medfee) - _dec(inscp))
        return {"psn_no": patient["psn_no"], "mdtrt_cert_type": cert,
                "mdtrt_cert_no": patient["certno"] if cert == "02" else patient["card_no"],
                "medfee_sumamt": medfee, "fulamt_ownpay_amt": ownpay_value,
                "overlmt_selfpay": "0", "preselfpay_amt": "0", "inscp_scp_amt": inscp,
                "acct_used_flag": flag}

    def settle(self, code: str, patient: dict, medfee: str, inscp: str = "0", *,
               infno: str = "2207", msgid: str | None = None, **kw: str) -> dict:
        return self.call(code, infno, self.bill(patient, medfee, inscp, **kw), msgid)

    def reverse(self, code: str, answer: dict, patient: dict, infno: str = "2208",
                msgid: str | None = None) -> dict:
        setl_id = answer["output"]["setlinfo"]["setl_id"]
        return self.call(code, infno, {"setl_id": setl_id, "psn_no": patient["psn_no"]}, msgid)

    # reads ----------------------------------------------------------------------------------
    def balance_fen(self, person: dict) -> int:
        with self.ctx.read() as uow:
            return uow.conn.execute(
                select(accounts.c.balance_fen).join(persons, persons.c.id == accounts.c.person_id)
                .where(persons.c.psn_no == person["psn_no"])).scalar_one()

    def balances(self, *people: dict) -> list[int]:
        return [self.balance_fen(p) for p in people]

    def accumulator(self, person: dict, year: int = 2025, scene: str = "hospital") -> tuple:
        with self.ctx.read() as uow:
            row = uow.conn.execute(
                select(fund_accumulators.c.deductible_used_fen, fund_accumulators.c.fund_paid_fen)
                .join(persons, persons.c.id == fund_accumulators.c.person_id)
                .where(persons.c.psn_no == person["psn_no"], fund_accumulators.c.year == year,
                       fund_accumulators.c.scene == scene)).first()
            return tuple(row) if row else (0, 0)


def _dec(text: str):  # noqa: ANN202
    from decimal import Decimal

    return Decimal(text)


def ok(answer: dict) -> dict:
    """The output of a successful gateway answer (fails the test with the error otherwise)."""
    assert answer["infcode"] == 0, f"{answer['err_code']}: {answer['err_msg']}"
    return answer["output"]


# --- group commit: envelopes accepted, not yet run (tests/integration/test_batching*.py) -------
# (imported here: this block is appended to the module, its top is not ours to edit)
import threading  # noqa: E402
from contextlib import contextmanager  # noqa: E402


def envelope(code: str, infno: str, data: dict, msgid: str) -> bytes:
    """The envelope World.call sends, as raw bytes for gateway.accept."""
    return json.dumps({"infno": infno, "msgid": msgid, "mdtrtarea_admvs": "542500",
                       "insuplc_admdvs": "542500", "fixmedins_code": code, "opter": "t",
                       "inf_time": "2025-06-01 10:00:00", "input": {"data": data}}).encode()


def accepted(world: World, code: str, infno: str, data: dict, msgid: str) -> gateway.Exchange:
    """An envelope read and checked by the gateway, its exactly-once job not yet run: jobs
    gathered this way can be run as one batch (batching.run_batch) or queued together."""
    exchange = gateway.accept(world.ctx, code, envelope(code, infno, data, msgid))
    assert not isinstance(exchange, tuple), exchange  # refused before it could run
    assert exchange.job is not None, f"{infno} is not an exactly-once code"
    return exchange


def settlement_job(world: World, code: str, patient: dict, medfee: str, msgid: str,
                   infno: str = "2207", inscp: str = "0"):  # noqa: ANN201 - a batching.Job
    """The batch job of one settlement bill (all of it self-paid unless inscp is given)."""
    return accepted(world, code, infno, World.bill(patient, medfee, inscp), msgid).job


def ledger_violations(world: World) -> dict[str, int]:
    """Every non-advisory `gongji verify` check that fails, with its count (empty: sound)."""
    from gongji.services.operations.verify import verify

    return {r.check.name: r.total for r in verify(world.ctx)
            if r.violations and not r.check.advisory}


def record_batches(monkeypatch) -> list[list]:  # noqa: ANN001
    """Every batch handed to batching.run_batch from now on (by any Batcher's writer), as the
    list of its jobs."""
    from gongji.services import batching

    batches: list[list] = []
    real = batching.run_batch

    def recorded(engine, jobs):  # noqa: ANN001, ANN202
        batches.append(list(jobs))
        return real(engine, jobs)

    monkeypatch.setattr(batching, "run_batch", recorded)
    return batches


@contextmanager
def writer_held(*batchers):  # noqa: ANN002, ANN201 - services.batching.Batcher; yields Jobs
    """Keep each batcher's writer busy in a batch of its own until the block ends, then free
    them all at once: whatever is submitted meanwhile waits in the queues and forms the next
    batches together, as the test chose, not as timing would have it."""
    from gongji.services.batching import Job

    started = [threading.Event() for _ in batchers]
    release = threading.Event()

    def holding(event: threading.Event):  # noqa: ANN202
        def body(_uow: object) -> dict:
            event.set()
            release.wait(30)
            return {}
        return body

    blockers = [Job("test:blocker", None, "", holding(event), datetime.now(UTC))
                for event in started]
    futures = [batcher.submit(job) for batcher, job in zip(batchers, blockers, strict=True)]
    assert all(event.wait(30) for event in started), "a writer never started"
    try:
        yield blockers[0] if len(blockers) == 1 else blockers
    finally:
        release.set()
        assert [future.result(30) for future in futures] == [{} for _ in futures]
