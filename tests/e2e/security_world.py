"""A world for the security tests (authorisation matrix, privacy scan, fuzzing).

The app runs on a database of its own per test module: SQLite (`sqlite_world`), or each
backend in turn (`backend_world`, [sqlite] and [pg]). People, kinships, bindings,
settlements, premiums, notices and invitations are made through the services (quick), so
that every list a caller can read has counterparts in it; every role has a token. Fresh
resources (a new family, a new invitation...) are made on demand, so a test may spend one
per call.
"""

from __future__ import annotations

import itertools
import json
import shutil
import uuid
from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from fastapi.testclient import TestClient

import pgserver
from gongji.api import gateway
from gongji.api.auth import issue_token
from gongji.app import create_app
from gongji.domain.idcard import make_certno
from gongji.services.binding import invitations
from gongji.services.binding.actor import Actor
from gongji.services.binding.bindings import hall_bind
from gongji.services.context import Context
from gongji.services.money import premium
from gongji.services.registry import reference
from gongji.settings import Settings
from gongji.store.db import make_engine
from support import Clock

ADMIN = "security-admin-token-8c1f0b7e2d"
COUNTY = {"542500": "542521", "451000": "451002"}
# Who calls, in the order of every row of the authorisation table.
ROLES = ("none", "owner", "other", "institution", "clerk", "far_clerk", "operator")
_SURNAMES = "欧司诸上皇东慕令"
_GIVEN = "明月清风朗星海岚云霞松竹梅兰菊桂"


def _name(n: int) -> str:
    """A distinct three-character name per person: a full name found in a response text
    can only be that person's (a masked one keeps just its first character)."""
    return (_SURNAMES[n % len(_SURNAMES)] + _GIVEN[(n // len(_SURNAMES)) % len(_GIVEN)]
            + _GIVEN[(n // (len(_SURNAMES) * len(_GIVEN))) % len(_GIVEN)])


@dataclass
class Family:
    helper: dict
    beneficiary: dict
    relation: str
    binding_id: int | None = None
    invitation_id: int | None = None


class SecurityWorld:
    def __init__(self, app, client: TestClient, clock: Clock):  # noqa: ANN001
        self.app, self.client, self.clock = app, client, clock
        self.ctx: Context = app.state.ctx
        self.people: dict[str, dict] = {}  # psn_no -> person (with "token")
        self._seq = itertools.count(1)
        self.hospital = self.institution("hospital")
        self.pharmacy = self.institution("pharmacy")
        self.tokens = {"institution": self.token("institution", self.hospital),
                       "clerk": self.token("clerk", "clerk-ali", "542500"),
                       "far_clerk": self.token("clerk", "clerk-baise", "451000"),
                       "operator": ADMIN}
        self.stranger = self.person(credit="300.00")  # "other person": nobody to anyone
        self._seed()

    # reference data -----------------------------------------------------------------------------
    def person(self, insutype: str = "310", *, credit: str | None = None,
               region: str = "542500", born: date | None = None) -> dict:
        n = next(self._seq)
        born = born or date(1960, 1, 1) + timedelta(days=11 * n)  # adults, one birthday each
        row = reference.create_person(self.ctx, {
            "certno": make_certno(COUNTY[region], born, n % 1000), "psn_name": _name(n),
            "insutype": insutype, "insuplc_admdvs": region, "card_no": f"SEC{n:06d}"})
        if credit:
            self.credit(row, credit)
        row["token"] = self.token("person", row["psn_no"])
        self.people[row["psn_no"]] = row
        return row

    def credit(self, person: dict, amount: str) -> str:
        ref = f"sec-{uuid.uuid4().hex[:16]}"
        reference.credit_account(self.ctx, person["psn_no"], {"amount": amount, "ref": ref})
        return ref

    def institution(self, kind: str) -> str:
        code = f"{'H' if kind == 'hospital' else 'P'}{uuid.uuid4().hex[:8].upper()}"
        reference.create_institution(self.ctx, {"fixmedins_code": code, "fixmedins_name": code,
                                                "fixmedins_type": kind, "admdvs": "542500"})
        return code

    def kin(self, helper: dict, beneficiary: dict, relation: str) -> None:
        reference.add_kinship(self.ctx, {"certno": helper["certno"],
                                         "relative_certno": beneficiary["certno"],
                                         "relation": relation})

    def token(self, role: str, subject: str, admdvs: str | None = None) -> str:
        return issue_token(self.app.state.settings.signing_key, role, subject, 30 * 86400,
                           self.ctx.now(), admdvs)[0]

    # fresh resources ----------------------------------------------------------------------------
    def family(self, *, bound: bool = True, beneficiary_type: str = "390") -> Family:
        """A helper (310, 1000 yuan) and an adult relative, kinship registered."""
        fam = Family(self.person(credit="1000.00"), self.person(beneficiary_type), "sibling")
        self.kin(fam.helper, fam.beneficiary, fam.relation)
        if bound:
            fam.binding_id = self.bind(fam.helper, fam.beneficiary, fam.relation)
        return fam

    def bind(self, helper: dict, beneficiary: dict, relation: str) -> int:
        return hall_bind(self.ctx, {"helper_certno": helper["certno"],
                                    "beneficiary_certno": beneficiary["certno"],
                                    "relation": relation, "documents_checked": True},
                         Actor("clerk", "clerk-ali", "hall", "542500"))["binding_id"]

    def invitation(self) -> Family:
        """A pending invitation: the helper invited, the relative has not answered."""
        fam = self.family(bound=False)
        fam.invitation_id = invitations.invite(self.ctx, fam.helper["psn_no"], {
            "beneficiary_certno": fam.beneficiary["certno"],
            "beneficiary_name": fam.beneficiary["psn_name"], "relation": fam.relation,
            "channel": "national_app"})["invitation_id"]
        return fam

    def premium(self) -> int:
        fam = self.family()
        return premium.pay(self.ctx, fam.helper["psn_no"],
                           {"beneficiary_certno": fam.beneficiary["certno"],
                            "year": 2025})["premium_id"]

    # the gateway --------------------------------------------------------------------------------
    def envelope(self, infno: str, data: dict, code: str | None = None) -> dict:
        code = code or self.hospital
        return {"infno": infno, "msgid": f"SEC{uuid.uuid4().hex[:20]}",
                "mdtrtarea_admvs": "542500", "insuplc_admdvs": "542500",
                "fixmedins_code": code, "opter": "sec", "inf_time": "2025-06-01 10:00:00",
                "input": {"data": data}}

    def call(self, infno: str, data: dict, code: str | None = None) -> dict:
        """Through gateway.process, as the institution `code` (default: the hospital)."""
        code = code or self.hospital
        status, answer = gateway.process(self.ctx, code,
                                         json.dumps(self.envelope(infno, data, code)).encode())
        assert status == 200 and answer["infcode"] == 0, answer
        return answer["output"]

    @staticmethod
    def bill(patient: dict, fee: str, inscp: str = "0") -> dict:
        ownpay = f"{float(fee) - float(inscp):.2f}"
        return {"psn_no": patient["psn_no"], "mdtrt_cert_type": "02",
                "mdtrt_cert_no": patient["certno"], "medfee_sumamt": fee,
                "fulamt_ownpay_amt": ownpay, "overlmt_selfpay": "0", "preselfpay_amt": "0",
                "inscp_scp_amt": inscp, "acct_used_flag": "1"}

    # the seeded family --------------------------------------------------------------------------
    def _seed(self) -> None:
        """卓玛-like household: mother and father (310) help their child (390); mother
        helps granny (390) and paid her premium; the child settled twice (one reversed);
        an aunt's invitation to the child is pending."""
        self.mother = self.person(credit="2000.00")
        self.father = self.person(credit="300.00")
        self.child = self.person("390")
        self.granny = self.person("390", born=date(1948, 3, 3))
        aunt = self.person(credit="50.00")
        for helper, beneficiary, relation in [(self.mother, self.child, "child"),
                                              (self.father, self.child, "child"),
                                              (self.mother, self.granny, "parent"),
                                              (aunt, self.child, "grandchild")]:
            self.kin(helper, beneficiary, relation)
        self.child_bindings = [self.bind(self.mother, self.child, "child"),
                               self.bind(self.father, self.child, "child")]
        self.granny_binding = self.bind(self.mother, self.granny, "parent")
        self.first = self.call("2207", self.bill(self.child, "1500.00", "1400.00"))
        second = self.call("2102", self.bill(self.child, "80.00"), self.pharmacy)
        self.call("2103", {"setl_id": second["setlinfo"]["setl_id"],
                           "psn_no": self.child["psn_no"]}, self.pharmacy)
        self.premium_id = premium.pay(self.ctx, self.mother["psn_no"], {
            "beneficiary_certno": self.granny["certno"], "year": 2025})["premium_id"]
        invitations.invite(self.ctx, aunt["psn_no"], {
            "beneficiary_certno": self.child["certno"], "beneficiary_name": self.child["psn_name"],
            "relation": "grandchild", "channel": "national_app"})

    def headers(self, role: str, owner: dict | None) -> dict:
        """The Authorization header of `role`; "owner" is the person the call is about."""
        if role == "none":
            return {}
        if role == "owner":
            token = (owner or self.mother)["token"]
        elif role == "other":
            token = self.stranger["token"]
        else:
            token = self.tokens[role]
        return {"Authorization": f"Bearer {token}"}


# --- fixtures: one app and world per test module and backend -----------------------------------


def _module_db(request, tmp_path_factory, backend: str):  # noqa: ANN001, ANN202
    if backend == "sqlite":
        path = tmp_path_factory.mktemp("security") / "gongji.db"
        shutil.copyfile(request.getfixturevalue("_sqlite_template"), path)
        return f"sqlite:///{path}", None
    admin = request.getfixturevalue("_pg_admin")
    name = f"sec_{uuid.uuid4().hex}"
    admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{request.getfixturevalue("_pg_template")}"')

    def drop() -> None:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    return pgserver.with_database(request.getfixturevalue("pg_server_url"), name), drop


def _world(request, tmp_path_factory, backend: str):  # noqa: ANN001, ANN202
    url, drop = _module_db(request, tmp_path_factory, backend)
    clock = Clock()
    app = create_app(Settings(admin_token=ADMIN, db_url=url),
                     context=Context(make_engine(url), clock))
    try:
        with TestClient(app, raise_server_exceptions=False) as client:
            world = SecurityWorld(app, client, clock)
            world.backend = backend
            yield world
    finally:
        app.state.ctx.engine.dispose()
        if drop:
            drop()


@pytest.fixture(scope="module")
def sqlite_world(request, tmp_path_factory):
    yield from _world(request, tmp_path_factory, "sqlite")


@pytest.fixture(scope="module", params=[pytest.param("sqlite", id="sqlite"),
                                        pytest.param("pg", id="pg", marks=pytest.mark.pg)])
def backend_world(request, tmp_path_factory):
    yield from _world(request, tmp_path_factory, request.param)
