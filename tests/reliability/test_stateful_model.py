"""Model-based test: a hypothesis state machine does random credits, hall bindings,
invitations (accepted, declined, withdrawn), deduction-order changes, unbindings, account
freezes, settlements and pre-settlements (hospital, pharmacy, another province's
hospital), inpatient stays (2401 admission, 2301 lines, 2402/2405/2404, 2303/2304 settled by
fund_rules.inpatient, reversed by 2305), retried settlements, reversals, premiums and
premium reversals, new fund rules published as policy versions mid-run, and 共济额度
(quotas set and changed; Ali has them switched on by a published policy version, Baise
not) against the services, and the same against the plain model of ledger_model.py. Every answer must be
the model's (breakdown to the fen, or the refusal's code); after every step every balance,
deduction order and pooled-fund accumulator must equal the model's; at the end of each run
`gongji verify`'s checks pass and each patient's statement shows the model's breakdowns.

`make test` runs a few hundred steps on SQLite and on PostgreSQL; `make test-deep`
thousands.
"""

from __future__ import annotations

import itertools
import json
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
    run_state_machine_as_test,
)
from sqlalchemy import select

from figures import record
from gongji.api import gateway
from gongji.domain.errors import DomainError
from gongji.domain.fund import FundRule
from gongji.services import batching
from gongji.services.binding import bindings as binding
from gongji.services.binding import invitations, quota, unbinding
from gongji.services.binding.actor import Actor
from gongji.services.catalogue.loading import load_items
from gongji.services.money import premium
from gongji.services.operations.verify import verify
from gongji.services.reads import statements
from gongji.services.registry import reference
from gongji.store.schema import accounts, bindings, fund_accumulators, persons
from ledger_model import Breakdown, LedgerModel, Stay
from policy_support import publish
from quota_support import enable_quotas
from support import Clock, World

ALI, BAISE = "542500", "451000"
ALI_CLERK = Actor("clerk", "clerk-ali", "hall", ALI)
# code -> (type, region, settle/pre-settle/reverse infnos)
INSTITUTIONS = {"HALI01": ("hospital", ALI, "2207", "2206", "2208"),
                "PALI01": ("pharmacy", ALI, "2102", "2101", "2103"),
                "HBSE01": ("hospital", BAISE, "2207", "2206", "2208")}
HOSPITALS = ("HALI01", "HBSE01")
IN_SCOPE = "IPT01"  # a catalogue item wholly in policy scope; any other code is own-pay
TALLY = {"runs": 0, "steps": 0, "quotas_set": 0, "quota_draws": 0, "quota_refunds": 0,
         "stays": 0, "stay_settlements": 0, "versions": 0, "batched_settlements": 0}


def fen(yuan: object) -> int:
    return int(Decimal(str(yuan)) * 100)


def yuan(amount_fen: int) -> str:
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


def refusal(call) -> str | None:  # noqa: ANN001
    """The refusal's code, or None when the call succeeded (its answer is then discarded)."""
    try:
        call()
    except DomainError as error:
        return error.code
    return None


class Accounts(RuleBasedStateMachine):
    """Three Ali helpers and one Baise helper; two resident relatives (390) and one employee
    (310, with an account of their own) whom they may help; every kinship registered."""

    make_url = None  # set per test: a factory of fresh, migrated databases

    settled = Bundle("settled")
    premiums = Bundle("premiums")
    stays = Bundle("stays")

    def __init__(self) -> None:
        super().__init__()
        TALLY["runs"] += 1
        self.world = World(type(self).make_url(), Clock(), pool_size=2)
        self.ctx = self.world.ctx
        self.model = LedgerModel()
        self.msgids = itertools.count(1)
        self.in_step = False
        self.people: dict[str, dict] = {}
        for key, region, insutype in [("A1", ALI, "310"), ("A2", ALI, "310"), ("A3", ALI, "310"),
                                      ("B1", BAISE, "310"), ("R1", ALI, "390"),
                                      ("R2", ALI, "390"), ("E1", ALI, "310")]:
            person = self.world.person(key, insutype, region, born=date(1985, 5, 5))
            self.people[key] = person
            self.model.add_person(person["psn_no"], region, insutype)
            if insutype == "310":  # something to draw on from the first step
                self.world.credit(person, "800.00", f"start-{key}")
                self.model.credit(person["psn_no"], 80_000)
        for helper in self.helpers:
            for beneficiary in self.beneficiaries:
                self.world.kin(self.people[helper], self.people[beneficiary], "sibling")
        for code, (kind, region, *_) in INSTITUTIONS.items():
            self.world.institution(code, kind, region)
        enable_quotas(self.ctx, ALI)
        self.model.quota_regions.add(ALI)
        load_items(self.ctx, [{"admdvs": "540000", "med_list_codg": IN_SCOPE,
                               "med_list_name": "住院床位费", "chrgitm_lv": "01",
                               "selfpay_prop": "0", "pric_uplmt_amt": None}])

    helpers = ("A1", "A2", "A3", "B1")
    beneficiaries = ("R1", "R2", "E1")
    holders = helpers + ("E1",)

    def psn(self, key: str) -> str:
        return self.people[key]["psn_no"]

    def step(self) -> None:
        TALLY["steps"] += 1
        self.in_step = True  # until the invariant has passed after it
        self.world.clock.advance(minutes=1)

    # money in -----------------------------------------------------------------------------------
    @rule(who=st.sampled_from(holders), amount=st.integers(1, 300_000))
    def credit(self, who: str, amount: int) -> None:
        self.step()
        self.world.credit(self.people[who], yuan(amount), f"c{next(self.msgids)}")
        self.model.credit(self.psn(who), amount)

    @rule(who=st.sampled_from(holders), frozen=st.booleans())
    def freeze_or_thaw(self, who: str, frozen: bool) -> None:
        self.step()
        reference.patch_person(self.ctx, self.psn(who),
                               {"account_status": "frozen" if frozen else "normal"})
        (self.model.frozen.add if frozen else self.model.frozen.discard)(self.psn(who))

    # bindings -----------------------------------------------------------------------------------
    @initialize(helpers=st.lists(st.sampled_from(["A1", "A2", "A3", "B1"]), unique=True))
    def some_bindings_to_begin_with(self, helpers: list[str]) -> None:
        """R1 starts with a few helpers, so orders and waterfalls matter from the start."""
        for helper in helpers:
            if helper == "B1":
                self.invite(helper, "R1")
                self.answer_an_invitation_to(max(self.model.invitations), "accept")
            else:
                self.bind_at_the_hall(helper, "R1")

    @initialize(share=st.sampled_from([40, 60, 20, 5]))
    def a_quota_to_begin_with(self, share: int) -> None:
        """R2 starts with A2's help under a quota (共济额度), so that draws on a quota, the
        reserve and refunds are exercised in every run, not only in the rare one."""
        self.bind_at_the_hall("A2", "R2")
        self.set_a_quota_on(self.model.order[self.psn("R2")][-1], share)

    @rule(helper=st.sampled_from(helpers), beneficiary=st.sampled_from(beneficiaries))
    def bind_at_the_hall(self, helper: str, beneficiary: str) -> None:
        self.step()
        h, b = self.psn(helper), self.psn(beneficiary)
        expected = ("PERSON_NOT_FOUND" if self.model.region[h] != ALI
                    else self.model.binding_refusal(h, b))
        try:
            answer = binding.hall_bind(self.ctx, {
                "helper_certno": self.people[helper]["certno"],
                "beneficiary_certno": self.people[beneficiary]["certno"],
                "relation": "sibling", "documents_checked": True}, ALI_CLERK)
        except DomainError as error:
            assert error.code == expected
            return
        assert expected is None
        self.model.bind(answer["binding_id"], h, b)

    @rule(helper=st.sampled_from(helpers), beneficiary=st.sampled_from(beneficiaries))
    def invite(self, helper: str, beneficiary: str) -> None:
        self.step()
        h, b = self.psn(helper), self.psn(beneficiary)
        expected = self.model.invitation_refusal(h, b)
        try:
            answer = invitations.invite(self.ctx, h, {
                "beneficiary_certno": self.people[beneficiary]["certno"],
                "beneficiary_name": self.people[beneficiary]["psn_name"],
                "relation": "sibling", "channel": "national_app"})
        except DomainError as error:
            assert error.code == expected
            return
        assert expected is None and answer["status"] == "pending"
        self.model.invitations[answer["invitation_id"]] = (h, b)

    @precondition(lambda self: self.model.invitations)
    @rule(data=st.data(), answer=st.sampled_from(["accept", "accept", "decline", "withdraw"]))
    def answer_an_invitation(self, data: st.DataObject, answer: str) -> None:
        self.answer_an_invitation_to(data.draw(st.sampled_from(sorted(self.model.invitations))),
                                     answer)

    def answer_an_invitation_to(self, invitation_id: int, answer: str) -> None:
        self.step()
        h, b = self.model.invitations[invitation_id]
        caller = h if answer == "withdraw" else b
        expected = self.model.binding_refusal(h, b) if answer == "accept" else None
        try:
            result = getattr(invitations, answer)(self.ctx, caller, invitation_id)
        except DomainError as error:
            assert error.code == expected  # a refused acceptance leaves it pending
            return
        assert expected is None
        del self.model.invitations[invitation_id]
        if answer == "accept":
            self.model.bind(result["binding_id"], h, b)

    @rule(beneficiary=st.sampled_from(beneficiaries), data=st.data())
    def change_the_order(self, beneficiary: str, data: st.DataObject) -> None:
        self.step()
        b = self.psn(beneficiary)
        current = self.model.order[b]
        new = data.draw(st.permutations(current))
        if new == current:  # a change is what matters: the next settlement must follow it
            new = current[1:] + current[:1]
        spoil = current and data.draw(st.integers(0, 4)) == 0
        if spoil:  # leave one out: the order must name every active binding
            new = new[1:]
        code = refusal(lambda: binding.set_order(self.ctx, b, list(new)))
        assert code == ("ORDER_MISMATCH" if spoil else None)
        if not spoil:
            self.model.order[b] = list(new)

    @precondition(lambda self: self.model.bindings)
    @rule(data=st.data(), by=st.sampled_from(["helper", "beneficiary", "clerk"]))
    def unbind(self, data: st.DataObject, by: str) -> None:
        self.step()
        binding_id = data.draw(st.sampled_from(sorted(self.model.bindings)))
        h, b = self.model.bindings[binding_id]
        actor = ALI_CLERK if by == "clerk" else Actor("person", h if by == "helper" else b)
        answer = unbinding.unbind(self.ctx, binding_id, actor, {"documents_checked": True})
        assert answer["status"] == "unbound"
        self.model.unbind(binding_id)
        again = refusal(lambda: unbinding.unbind(self.ctx, binding_id, actor,
                                                 {"documents_checked": True}))
        assert again == "BINDING_NOT_ACTIVE"

    # 共济额度 -----------------------------------------------------------------------------------
    @precondition(lambda self: self.model.bindings)
    @rule(data=st.data(), share=st.sampled_from([0, 5, 20, 40, 60, 100, 101, 150]))
    def set_a_quota(self, data: st.DataObject, share: int) -> None:
        """The helper sets or changes a quota: a share of the balance, sometimes too much."""
        self.set_a_quota_on(data.draw(st.sampled_from(sorted(self.model.bindings))), share)

    def set_a_quota_on(self, binding_id: int, share: int) -> None:
        self.step()
        h = self.model.bindings[binding_id][0]
        amount = self.model.balance[h] * share // 100
        expected = self.model.quota_refusal(h, binding_id, amount)
        try:
            answer = quota.set_quota(self.ctx, h, binding_id, {"quota": yuan(amount)})
        except DomainError as error:
            assert error.code == expected
            return
        assert expected is None
        assert (fen(answer["quota"]), fen(answer["quota_remaining"])) == (amount, amount)
        self.model.set_quota(binding_id, amount)
        TALLY["quotas_set"] += 1

    # settlement ---------------------------------------------------------------------------------
    # A1 settles for themself too: their own payment must leave their quotas' reserve alone.
    @rule(target=settled, patient=st.sampled_from(beneficiaries + ("A1",)),
          code=st.sampled_from(sorted(INSTITUTIONS)), medfee=st.integers(1, 400_000),
          inscp_share=st.integers(0, 100), use_accounts=st.booleans(), pre=st.booleans())
    def settle(self, patient: str, code: str, medfee: int, inscp_share: int,
               use_accounts: bool, pre: bool):  # noqa: ANN201
        self.step()
        kind, region, infno, pre_infno, _ = INSTITUTIONS[code]
        inscp = medfee * inscp_share // 100
        data = self.world.bill(self.people[patient], yuan(medfee), yuan(inscp),
                               flag="1" if use_accounts else "0")
        data["fulamt_ownpay_amt"] = yuan(medfee - inscp)
        p = self.psn(patient)
        expected = self.model.breakdown(p, kind, region, medfee, inscp, use_accounts,
                                        self.world.clock.now.year)
        if pre:  # the same answer, nothing moved
            self.check_breakdown(self.world.call(code, pre_infno, data), expected)
            return multiple()
        msgid = f"S{next(self.msgids)}"
        answer = self.world.call(code, infno, data, msgid)
        self.check_breakdown(answer, expected)
        setl_id = answer["output"]["setlinfo"]["setl_id"]
        self.model.settle(setl_id, p, code, kind, self.world.clock.now.year, expected)
        TALLY["quota_draws"] += sum(1 for b, _ in self.model.settlements[setl_id].drawn
                                    if b in self.model.quota)
        return {"setl_id": setl_id, "code": code, "patient": patient, "msgid": msgid,
                "data": data, "output": answer["output"]}

    @rule(bills=st.lists(st.tuples(st.sampled_from(beneficiaries + ("A1",)),
                                   st.sampled_from(sorted(INSTITUTIONS)),
                                   st.integers(1, 200_000), st.integers(0, 100),
                                   st.booleans()), min_size=2, max_size=5))
    def settle_several_in_one_batch(self, bills: list) -> None:
        """Several settlements as one batch (services/batching.py): one transaction, each
        deciding against what the earlier ones moved, as if sent one after another."""
        self.step()
        jobs, specs = [], []
        for patient, code, medfee, inscp_share, use_accounts in bills:
            kind, region, infno, _, _ = INSTITUTIONS[code]
            inscp = medfee * inscp_share // 100
            data = self.world.bill(self.people[patient], yuan(medfee), yuan(inscp),
                                   flag="1" if use_accounts else "0")
            data["fulamt_ownpay_amt"] = yuan(medfee - inscp)
            envelope = {"infno": infno, "msgid": f"B{next(self.msgids)}",
                        "fixmedins_code": code, "opter": "t",
                        "inf_time": "2025-06-01 10:00:00", "input": {"data": data}}
            jobs.append(gateway.accept(self.ctx, code, json.dumps(envelope).encode()).job)
            specs.append((self.psn(patient), code, kind, region, medfee, inscp, use_accounts))
        outcome = batching.run_batch(self.ctx.engine, jobs)
        TALLY["batched_settlements"] += len(jobs)
        for job, (p, code, kind, region, medfee, inscp, use_accounts) in zip(jobs, specs,
                                                                              strict=True):
            assert job in outcome.answers, outcome.errors.get(job)
            expected = self.model.breakdown(p, kind, region, medfee, inscp, use_accounts,
                                            self.world.clock.now.year)
            answer = {"infcode": 0, "output": outcome.answers[job]}
            self.check_breakdown(answer, expected)
            self.model.settle(answer["output"]["setlinfo"]["setl_id"], p, code, kind,
                              self.world.clock.now.year, expected)

    @precondition(lambda self: any(b in self.model.bindings for b in self.model.quota))
    @rule(target=settled, data=st.data(), medfee=st.integers(1, 20_000),
          pre=st.booleans(), reverse_now=st.booleans())
    def settle_through_a_quota(self, data: st.DataObject, medfee: int, pre: bool,
                               reverse_now: bool):  # noqa: ANN201
        """A relative whose binding has a quota settles in Ali (and the hospital may reverse
        it at once): quotas are drawn on, and refunded, often."""
        binding_id = data.draw(st.sampled_from(
            sorted(b for b in self.model.quota if b in self.model.bindings)))
        beneficiary = self.model.bindings[binding_id][1]
        key = next(k for k in self.beneficiaries if self.psn(k) == beneficiary)
        record = self.settle(key, data.draw(st.sampled_from(["HALI01", "PALI01"])), medfee, 0,
                             True, pre)
        if reverse_now and isinstance(record, dict):
            self.reverse(record)
            return multiple()
        return record

    def check_breakdown(self, answer: dict, expected: Breakdown) -> None:
        assert answer["infcode"] == 0, answer
        info = answer["output"]["setlinfo"]
        got = Breakdown(fen(info["fund_pay_sumamt"]), expected.deductible_fen,
                        fen(info["acct_pay"]),
                        tuple((d["helper_psn_no"], fen(d["amount"]))
                              for d in answer["output"]["mulaid_detail"]),
                        fen(info["psn_cash_pay"]), fen(info["balc"]))
        assert got == expected
        assert fen(info["acct_mulaid_pay"]) == expected.mulaid_fen

    @rule(record=settled)
    def retry_a_settlement(self, record) -> None:  # noqa: ANN001
        """The same msgid and body: the first answer again; another body: refused."""
        self.step()
        infno = record.get("infno", INSTITUTIONS[record["code"]][2])
        again = self.world.call(record["code"], infno, record["data"], record["msgid"])
        assert again["infcode"] == 0 and again["output"] == record["output"]
        flipped = "0" if record["data"]["acct_used_flag"] == "1" else "1"
        other = self.world.call(record["code"], infno,
                                record["data"] | {"acct_used_flag": flipped}, record["msgid"])
        assert other["err_code"] == "IDEMPOTENCY_CONFLICT"

    @rule(record=consumes(settled))
    def reverse(self, record) -> None:  # noqa: ANN001
        self.step()
        reverse_infno = record.get("reverse_infno", INSTITUTIONS[record["code"]][4])
        data = {"setl_id": record["setl_id"], "psn_no": self.psn(record["patient"]),
                **record.get("reverse_with", {})}
        answer = self.world.call(record["code"], reverse_infno, data)
        assert answer["infcode"] == 0, answer
        TALLY["quota_refunds"] += sum(1 for b, _ in self.model.settlements[record["setl_id"]]
                                      .drawn if b in self.model.quota)
        balance = self.model.reverse(record["setl_id"])
        assert fen(answer["output"]["setlinfo"]["balc"]) == balance
        # 冲销: the reversal's lines carry each helper's part negated, as its setlinfo does
        refunded = [(d["helper_psn_no"], -fen(d["amount"]))
                    for d in answer["output"]["mulaid_detail"]]
        assert refunded == list(self.model.settlements[record["setl_id"]].breakdown.parts)
        twice = self.world.call(record["code"], reverse_infno, data)
        assert twice["err_code"] == "ALREADY_REVERSED"

    # inpatient stays ------------------------------------------------------------------------------
    def gateway(self, code: str, infno: str, input_: dict, msgid: str | None = None) -> dict:
        """A message whose input is not only input.data (2401, 2301, 2402)."""
        envelope = {"infno": infno, "msgid": msgid or f"G{next(self.msgids)}",
                    "fixmedins_code": code, "opter": "t", "inf_time": "2025-06-01 10:00:00",
                    "input": input_}
        return gateway.process(self.ctx, code, json.dumps(envelope).encode())[1]

    @rule(target=stays, patient=st.sampled_from(beneficiaries + ("A1",)),
          code=st.sampled_from(HOSPITALS), total=st.integers(1, 300_000),
          inscp_share=st.integers(0, 100),
          then=st.sampled_from(["stay", "discharge", "discharge", "settle and reverse"]),
          use_accounts=st.booleans())
    def admit(self, patient: str, code: str, total: int, inscp_share: int, then: str,
              use_accounts: bool):  # noqa: ANN201
        """2401, and often lines and 2402 at once, so stays reach settlement; sometimes a
        2304 and its 2305 at once too, so stay reversals are frequent."""
        stay = self.admit_only(patient, code)
        if then != "stay":
            self.add_stay_lines(stay, total, inscp_share)
            self.move_a_stay(stay, "2402")
        if then == "settle and reverse":
            record = self.settle_a_stay(stay, use_accounts, False)
            if isinstance(record, dict):
                self.reverse(record)
        return stay

    def admit_only(self, patient: str, code: str) -> dict:
        self.step()
        person = self.people[patient]
        answer = self.gateway(code, "2401", {"mdtrtinfo": {
            "psn_no": person["psn_no"], "begntime": "2025-06-01 08:00:00",
            "mdtrt_cert_type": "02", "mdtrt_cert_no": person["certno"], "med_type": "21",
            "ipt_no": f"ZY{next(self.msgids)}"}, "diseinfo": []})
        assert answer["infcode"] == 0, answer
        mdtrt_id = answer["output"]["result"]["mdtrt_id"]
        self.model.stays[mdtrt_id] = Stay(person["psn_no"], code)
        TALLY["stays"] += 1
        return {"mdtrt_id": mdtrt_id, "code": code, "patient": patient}

    @rule(stay=stays, total=st.integers(1, 300_000), inscp_share=st.integers(0, 100))
    def add_stay_lines(self, stay: dict, total: int, inscp_share: int) -> None:
        """2301: a line in scope and one own-pay line (either may be absent)."""
        self.step()
        inscp = total * inscp_share // 100
        sn = next(self.msgids)
        lines = [(f"I{sn}", IN_SCOPE, inscp), (f"O{sn}", "OWN01", total - inscp)]
        answer = self.gateway(stay["code"], "2301", {"feedetail": [{
            "feedetl_sn": feedetl_sn, "mdtrt_id": stay["mdtrt_id"],
            "psn_no": self.psn(stay["patient"]), "chrg_bchno": "IPT", "med_list_codg": codg,
            "cnt": "1", "pric": yuan(amount), "det_item_fee_sumamt": yuan(amount),
            "fee_ocur_time": "2025-06-01 09:30:00"} for feedetl_sn, codg, amount in lines
            if amount]})
        expected = self.model.stay_refusal(stay["mdtrt_id"], "2301")
        assert answer["err_code"] == (expected or ""), answer
        if expected is None:
            self.model.stays[stay["mdtrt_id"]].lines.append((total, inscp))

    @rule(stay=stays, infno=st.sampled_from(["2402", "2402", "2405", "2404"]))
    def move_a_stay(self, stay: dict, infno: str) -> None:
        """出院 2402, 出院撤销 2405, 入院撤销 2404: as the stay's state allows."""
        self.step()
        p = self.psn(stay["patient"])
        body = {"data": {"mdtrt_id": stay["mdtrt_id"], "psn_no": p}}
        if infno == "2402":
            body = {"dscginfo": {"mdtrt_id": stay["mdtrt_id"], "psn_no": p,
                                 "endtime": "2025-06-03 10:00:00"}, "diseinfo": []}
        answer = self.gateway(stay["code"], infno, body)
        expected = self.model.stay_refusal(stay["mdtrt_id"], infno)
        assert answer["err_code"] == (expected or ""), answer
        if expected is None:
            self.model.stay_change(stay["mdtrt_id"], infno)

    @rule(target=settled, stay=stays, use_accounts=st.booleans(), pre=st.booleans())
    def settle_a_stay(self, stay: dict, use_accounts: bool, pre: bool):  # noqa: ANN201
        """2303/2304: every unsettled line of a discharged stay, by fund_rules.inpatient."""
        self.step()
        mdtrt_id, code = stay["mdtrt_id"], stay["code"]
        medfee, inscp = self.model.stay_bill(mdtrt_id)
        person = self.people[stay["patient"]]
        data = {"psn_no": person["psn_no"], "mdtrt_cert_type": "02",
                "mdtrt_cert_no": person["certno"], "medfee_sumamt": yuan(medfee),
                "psn_setlway": "01", "mdtrt_id": mdtrt_id,
                "acct_used_flag": "1" if use_accounts else "0", "mid_setl_flag": "0"}
        infno = "2303" if pre else "2304"
        msgid = f"S{next(self.msgids)}"
        answer = self.world.call(code, infno, data, msgid)
        refused = self.model.stay_refusal(mdtrt_id, infno)
        if refused:
            assert answer["err_code"] == refused, answer
            return multiple()
        expected = self.model.breakdown(person["psn_no"], "inpatient", INSTITUTIONS[code][1],
                                        medfee, inscp, use_accounts, self.world.clock.now.year)
        self.check_breakdown(answer, expected)
        if pre:
            return multiple()
        setl_id = answer["output"]["setlinfo"]["setl_id"]
        self.model.settle(setl_id, person["psn_no"], code, "inpatient",
                          self.world.clock.now.year, expected)
        self.model.settle_stay(mdtrt_id, setl_id)
        TALLY["stay_settlements"] += 1
        return {"setl_id": setl_id, "code": code, "patient": stay["patient"], "msgid": msgid,
                "data": data, "output": answer["output"], "infno": "2304",
                "reverse_infno": "2305", "reverse_with": {"mdtrt_id": mdtrt_id}}

    def settleable(self) -> list[str]:
        return sorted(m for m, stay in self.model.stays.items()
                      if stay.status == "discharged" and stay.live is None and stay.lines)

    @precondition(lambda self: self.settleable())
    @rule(target=settled, data=st.data(), use_accounts=st.booleans())
    def settle_a_discharged_stay(self, data: st.DataObject, use_accounts: bool):  # noqa: ANN201
        """A stay ready for 2304 is settled often, so its reversal and retries follow."""
        mdtrt_id = data.draw(st.sampled_from(self.settleable()))
        stay = self.model.stays[mdtrt_id]
        key = next(k for k in self.people if self.psn(k) == stay.patient)
        return self.settle_a_stay({"mdtrt_id": mdtrt_id, "code": stay.institution,
                                   "patient": key}, use_accounts, False)

    # premium ------------------------------------------------------------------------------------
    @rule(region=st.sampled_from([ALI, BAISE]), deductible=st.sampled_from([0, 50, 300]),
          ratio=st.sampled_from([0, 50, 70, 100]), cap=st.sampled_from([0, 200, 5000]))
    def publish_new_fund_rules(self, region: str, deductible: int, ratio: int,
                               cap: int) -> None:
        """A policy version effective today: every later settlement of the region's patients
        uses its numbers (the model's too); earlier ones and their reversals keep theirs."""
        self.step()
        rules = {scene: FundRule(deductible * 100, ratio * 100, cap * 100)
                 for scene in ("hospital", "pharmacy", "inpatient")}
        plain = {scene: {"deductible_yuan": deductible, "ratio_percent": ratio,
                         "annual_cap_yuan": cap} for scene in rules}
        publish(self.ctx, region, {"fund_rules": plain})
        self.model.publish_fund_rules(region, rules)
        TALLY["versions"] += 1

    @rule(target=premiums, helper=st.sampled_from(helpers),
          beneficiary=st.sampled_from(beneficiaries), year=st.sampled_from([2024, 2025, 2026]))
    def pay_a_premium(self, helper: str, beneficiary: str, year: int):  # noqa: ANN201
        self.step()
        h, b = self.psn(helper), self.psn(beneficiary)
        expected = self.model.premium_refusal(h, b, year)
        try:
            answer = premium.pay(self.ctx, h, {"beneficiary_certno": self.people[beneficiary]
                                               ["certno"], "year": year})
        except DomainError as error:
            assert error.code == expected
            return multiple()
        assert expected is None
        amount = self.model.pay_premium(answer["premium_id"], h, b, year)
        assert (fen(answer["amount"]), fen(answer["balance"])) == (amount, self.model.balance[h])
        return answer["premium_id"]

    @rule(premium_id=consumes(premiums))
    def reverse_a_premium(self, premium_id: int) -> None:
        self.step()
        answer = premium.reverse(self.ctx, premium_id)
        assert fen(answer["balance"]) == self.model.reverse_premium(premium_id)
        assert refusal(lambda: premium.reverse(self.ctx, premium_id)) == \
            "PREMIUM_ALREADY_REVERSED"

    # after every step ---------------------------------------------------------------------------
    @invariant()
    def balances_orders_and_fund_use_equal_the_model(self) -> None:
        with self.ctx.read() as uow:
            conn = uow.conn
            balances = dict(conn.execute(
                select(persons.c.psn_no, accounts.c.balance_fen)
                .join(accounts, accounts.c.person_id == persons.c.id)).all())
            used = {(psn_no, year, scene): (d, f) for psn_no, year, scene, d, f in conn.execute(
                select(persons.c.psn_no, fund_accumulators.c.year, fund_accumulators.c.scene,
                       fund_accumulators.c.deductible_used_fen,
                       fund_accumulators.c.fund_paid_fen)
                .join(persons, persons.c.id == fund_accumulators.c.person_id))}
            ids = dict(conn.execute(select(persons.c.psn_no, persons.c.id)).all())
            orders = {self.psn(b): binding.active_order(conn, ids[self.psn(b)])
                      for b in self.beneficiaries}
            quotas = {row.id: [row.quota_fen, row.quota_remaining_fen] for row in conn.execute(
                select(bindings).where(bindings.c.quota_fen.is_not(None)))}
        assert balances == self.model.balance
        assert {k: v for k, v in used.items() if v != (0, 0)} == \
            {k: v for k, v in self.model.fund_used.items() if v != (0, 0)}
        assert orders == {b: self.model.order[b] for b in orders}
        assert quotas == self.model.quota
        self.in_step = False

    def teardown(self) -> None:
        """The whole books, once a run ended well (after a failed step they would only
        repeat the failure and slow the search for the shortest failing run)."""
        try:
            if self.in_step:
                return
            # advisory checks too: without credit reversals, reserves stay within balances
            broken = [(r.check.name, r.violations) for r in verify(self.ctx) if r.total]
            assert broken == []
            for patient in self.beneficiaries:
                self.statement_matches_the_model(self.psn(patient))
        finally:
            self.world.close()

    def statement_matches_the_model(self, psn_no: str) -> None:
        """The patient's own list of settlements: each breakdown as the model has it."""
        seen = statements.list_settlements(self.ctx, psn_no)["settlements"]
        mine = {setl_id: s for setl_id, s in self.model.settlements.items()
                if s.patient == psn_no}
        assert {s["setl_id"] for s in seen} == set(mine)
        for item in seen:
            model = mine[item["setl_id"]]
            b = model.breakdown
            assert (fen(item["fund_pay_sumamt"]), fen(item["acct_pay"]),
                    fen(item["acct_mulaid_pay"]), fen(item["psn_cash_pay"]), item["reversed"]) \
                == (b.fund_fen, b.own_fen, b.mulaid_fen, b.cash_fen, model.reversed)
            assert [fen(d["amount"]) for d in item["mulaid_detail"]] == \
                [amount for _, amount in b.parts]


def run_machine(make_url, backend: str, examples: int, steps: int) -> None:  # noqa: ANN001
    before = dict(TALLY)
    machine = type("AccountsOnThisDatabase", (Accounts,), {"make_url": staticmethod(make_url)})
    run_state_machine_as_test(machine, settings=settings(
        max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
    record(f"stateful {backend}: {TALLY['runs'] - before['runs']} runs, "
           f"{TALLY['steps'] - before['steps']} steps, every one as the model said; 共济额度: "
           f"{TALLY['quotas_set'] - before['quotas_set']} set, "
           f"{TALLY['quota_draws'] - before['quota_draws']} draws on one, "
           f"{TALLY['quota_refunds'] - before['quota_refunds']} refunds to one; 住院: "
           f"{TALLY['stays'] - before['stays']} stays, "
           f"{TALLY['stay_settlements'] - before['stay_settlements']} settled; "
           f"{TALLY['versions'] - before['versions']} policy versions published")


def test_accounts_follow_the_model_step_by_step(make_db_url, request):
    run_machine(make_db_url, request.node.callspec.id, examples=30, steps=40)


@pytest.mark.deep
def test_accounts_follow_the_model_for_thousands_of_steps(make_db_url, request):
    run_machine(make_db_url, request.node.callspec.id, examples=120, steps=50)


def test_the_model_reckons_the_readme_example_by_hand():
    """The model itself, against arithmetic done by hand: a 1500-yuan hospital bill with
    1400 in policy: (1400 − 200 deductible) × 60 % = 720 from the fund; the 780 left comes
    from the mother's account; her 1000 becomes 220."""
    model = LedgerModel()
    model.add_person("MOTHER", ALI, "310")
    model.add_person("CHILD", ALI, "390")
    model.credit("MOTHER", 100_000)
    model.bind(1, "MOTHER", "CHILD")

    bill = model.breakdown("CHILD", "hospital", ALI, 150_000, 140_000, True, 2025)
    model.settle("S1", "CHILD", "H", "hospital", 2025, bill)

    assert (bill.fund_fen, bill.deductible_fen, bill.parts, bill.cash_fen) == \
        (72_000, 20_000, (("MOTHER", 78_000),), 0)
    assert model.balance["MOTHER"] == 22_000
    assert model.breakdown("CHILD", "hospital", BAISE, 10_000, 0, True, 2025).parts == ()
    assert model.reverse("S1") == 0 and model.balance["MOTHER"] == 100_000
