"""Crash test: `gongji serve` on a durable throwaway PostgreSQL, loaded over HTTP by client
threads doing settlements (hospital and pharmacy), reversals, premiums and premium
reversals. Mid-load the server is killed with SIGKILL, or the server and PostgreSQL
together (a machine crash), or PostgreSQL alone while the server lives on; then it is
restarted. Clients that lose an answer retry the same msgid / Idempotency-Key until they
get one, as the national interface expects. One settlement is made to commit and then lose
its answer on purpose, the case a random kill rarely hits.

Afterwards:
- `gongji verify` passes: every balance recomputes from the journal, every transaction is
  whole (no posting without its journal row, no settlement without its postings);
- every answer a client received as success is in the journal, amount for amount;
- no key was settled twice, and no key is left claimed without its answer;
- replaying every successful request returns the first answer;
- every balance equals what the clients' own answers say it must be.

`make test` runs three crash cycles (one of each kind); `make test-deep` sixteen.
"""

from __future__ import annotations

import json
import random
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import httpx
import psycopg
import pytest

import pgserver
from figures import record
from gongji.domain.idcard import make_certno
from service import GONGJI, GongjiServer

ADMIN = "crash-test-admin-token-3b9d1e7a5c"
GATEWAY = "/fsi/api/rsfComIfsService/callService"
RETRY_FOR_S = 120.0  # how long a client keeps retrying one key before the test fails


def fen(yuan: object) -> int:
    return int(Decimal(str(yuan)) * 100)


def yuan(amount_fen: int) -> str:
    return f"{amount_fen // 100}.{amount_fen % 100:02d}"


# --- the data, loaded over HTTP ------------------------------------------------------------------


@dataclass
class Family:
    """Mother (310) helps the child (390) and the father (310); the father helps the child."""

    mother: dict
    father: dict
    child: dict
    premium_years: list[int] = field(default_factory=lambda: [2025, 2026])


class Loader:
    def __init__(self, base_url: str):
        self.http = httpx.Client(base_url=base_url, timeout=30.0,
                                 headers={"Authorization": f"Bearer {ADMIN}"})
        self.credits: Counter[str] = Counter()  # psn_no -> fen credited
        self.seq = 0

    def post(self, path: str, body: dict, token: str | None = None) -> dict:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        response = self.http.post(path, json=body, headers=headers)
        assert response.status_code in (200, 201), (path, response.text)
        return response.json()

    def person(self, name: str, insutype: str, credit_fen: int = 0) -> dict:
        self.seq += 1
        person = self.post("/api/v1/persons", {
            "certno": make_certno("542521", date(1970, 1, 1), self.seq), "psn_name": name,
            "insutype": insutype, "insuplc_admdvs": "542500"})
        if credit_fen:
            self.post(f"/api/v1/accounts/{person['psn_no']}/credits",
                      {"amount": yuan(credit_fen), "ref": f"load-{person['psn_no']}"})
            self.credits[person["psn_no"]] += credit_fen
        person["token"] = self.token("person", person["psn_no"])
        return person

    def token(self, role: str, subject: str, admdvs: str | None = None) -> str:
        body = {"role": role, "subject": subject, "ttl_s": 86400}
        return self.post("/api/v1/tokens", body | ({"admdvs": admdvs} if admdvs else {}))["token"]

    def family(self, n: int, clerk: str) -> Family:
        fam = Family(self.person(f"母亲{n}", "310", 300_000),
                     self.person(f"父亲{n}", "310", 150_000), self.person(f"孩子{n}", "390"))
        for helper, beneficiary, relation in [(fam.mother, fam.child, "child"),
                                              (fam.father, fam.child, "child"),
                                              (fam.mother, fam.father, "spouse")]:
            self.post("/api/v1/kinships", {"certno": helper["certno"],
                                           "relative_certno": beneficiary["certno"],
                                           "relation": relation})
            self.post("/api/v1/bindings", {"helper_certno": helper["certno"],
                                           "beneficiary_certno": beneficiary["certno"],
                                           "relation": relation, "documents_checked": True},
                      clerk)
        return fam


def load(base_url: str, families: int) -> dict:
    loader = Loader(base_url)
    institutions = {}
    for code, kind in (("H54250001", "hospital"), ("P54250001", "pharmacy")):
        loader.post("/api/v1/institutions", {"fixmedins_code": code, "fixmedins_name": code,
                                             "fixmedins_type": kind, "admdvs": "542500"})
        institutions[code] = loader.token("institution", code)
    clerk = loader.token("clerk", "clerk-crash", "542500")
    data = {"families": [loader.family(n, clerk) for n in range(families)],
            "institutions": institutions, "credits": loader.credits}
    loader.http.close()
    return data


# --- clients -------------------------------------------------------------------------------------


@dataclass
class Op:
    kind: str  # settle | reverse | premium | premium_reverse
    key: str  # msgid or Idempotency-Key
    method: str
    path: str
    body: dict
    headers: dict
    meta: dict = field(default_factory=dict)
    attempts: int = 0
    lost: int = 0  # attempts with no answer (connection lost) or 5xx (database down)
    status: int | None = None
    answer: dict | None = None

    @property
    def succeeded(self) -> bool:
        if self.kind in ("settle", "reverse"):
            return self.status == 200 and self.answer.get("infcode") == 0
        return self.status in (200, 201)

    @property
    def code(self) -> str | None:
        """The refusal's stable code, None for a success."""
        if self.succeeded:
            return None
        return self.answer.get("err_code") or self.answer.get("code")


def send(http: httpx.Client, op: Op) -> Op:
    """Send until an answer comes back; a lost answer is retried with the same key and body."""
    deadline = time.monotonic() + RETRY_FOR_S
    while True:
        op.attempts += 1
        try:
            response = http.request(op.method, op.path, json=op.body, headers=op.headers)
            if response.status_code < 500:
                op.status, op.answer = response.status_code, response.json()
                return op
        except httpx.TransportError:
            pass
        op.lost += 1
        if time.monotonic() > deadline:
            raise AssertionError(f"{op.kind} {op.key}: no answer within {RETRY_FOR_S:.0f}s")
        time.sleep(random.uniform(0.02, 0.15))


class Client(threading.Thread):
    """One thread: settles for any family's patients (so helpers are shared across threads),
    reverses some of its own settlements, pays and reverses its own family's premiums."""

    def __init__(self, n: int, base_url: str, data: dict, stop: threading.Event,
                 max_ops: int):
        super().__init__(name=f"client-{n}", daemon=True)
        self.n, self.data, self.stop, self.max_ops = n, data, stop, max_ops
        self.http = httpx.Client(base_url=base_url, timeout=30.0)
        self.rng = random.Random(n)
        self.family: Family = data["families"][n % len(data["families"])]
        self.ops: list[Op] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            while not self.stop.is_set() and len(self.ops) < self.max_ops:
                self.ops.append(send(self.http, self.next_op()))
        except BaseException as error:  # noqa: BLE001 (handed to the test, which fails with it)
            self.error = error
        finally:
            self.http.close()

    def key(self) -> str:
        return f"C{self.n}-{uuid.uuid4().hex[:12]}"

    def next_op(self) -> Op:
        roll = self.rng.random()
        settled = [op for op in self.ops if op.kind == "settle" and op.succeeded
                   and not op.meta.get("reversed")]
        premiums = [op for op in self.ops if op.kind == "premium" and op.succeeded
                    and not op.meta.get("reversed")]
        if roll < 0.15 and settled:
            return self.reversal(self.rng.choice(settled))
        if roll < 0.22 and self.family.premium_years:
            return self.premium()
        if roll < 0.26 and premiums:
            return self.premium_reversal(self.rng.choice(premiums))
        return self.settlement()

    def gateway(self, kind: str, code: str, infno: str, data: dict, **meta) -> Op:
        key = self.key()
        envelope = {"infno": infno, "msgid": key, "mdtrtarea_admvs": "542500",
                    "insuplc_admdvs": "542500", "fixmedins_code": code, "opter": "crash",
                    "inf_time": "2025-06-01 10:00:00", "input": {"data": data}}
        token = self.data["institutions"][code]
        return Op(kind, key, "POST", GATEWAY, envelope, {"Authorization": f"Bearer {token}"},
                  meta | {"code": code})

    def settlement(self) -> Op:
        family = self.rng.choice(self.data["families"])
        patient = self.rng.choice([family.child, family.father])
        code = self.rng.choice(sorted(self.data["institutions"]))
        medfee = self.rng.randint(100, 12_000)
        inscp = medfee * self.rng.randint(0, 100) // 100 if code.startswith("H") else 0
        data = {"psn_no": patient["psn_no"], "mdtrt_cert_type": "02",
                "mdtrt_cert_no": patient["certno"], "medfee_sumamt": yuan(medfee),
                "fulamt_ownpay_amt": yuan(medfee - inscp), "overlmt_selfpay": "0",
                "preselfpay_amt": "0", "inscp_scp_amt": yuan(inscp), "acct_used_flag": "1"}
        return self.gateway("settle", code, "2207" if code.startswith("H") else "2102", data,
                            patient=patient["psn_no"])

    def reversal(self, settled: Op) -> Op:
        settled.meta["reversed"] = True  # one reversal per settlement, retried if need be
        code = settled.meta["code"]
        data = {"setl_id": settled.answer["output"]["setlinfo"]["setl_id"],
                "psn_no": settled.meta["patient"]}
        return self.gateway("reverse", code, "2208" if code.startswith("H") else "2103", data,
                            settlement=settled.key)

    def premium(self) -> Op:
        year = self.family.premium_years.pop(0)
        key = self.key()
        return Op("premium", key, "POST", "/api/v1/premiums",
                  {"beneficiary_certno": self.family.child["certno"], "year": year},
                  {"Authorization": f"Bearer {self.family.mother['token']}",
                   "Idempotency-Key": key}, {"year": year, "helper": self.family.mother["psn_no"]})

    def premium_reversal(self, paid: Op) -> Op:
        paid.meta["reversed"] = True
        self.family.premium_years.append(paid.meta["year"])  # may be paid again afterwards
        key = self.key()
        return Op("premium_reverse", key, "POST",
                  f"/api/v1/premiums/{paid.answer['premium_id']}/reverse", {},
                  {"Authorization": f"Bearer {ADMIN}", "Idempotency-Key": key},
                  {"premium": paid.key})


# --- the run -------------------------------------------------------------------------------------


@dataclass
class Crashes:
    server_kills: int = 0
    database_kills: int = 0
    # batches of more than one command the server had run when it was killed: the kills
    # land on a server that commits in batches (services/batching.py), mid-batch or between
    many_command_batches: list[int] = field(default_factory=list)


def batches_of_many(base_url: str) -> int:
    """From /metrics: how many batches so far held more than one command."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    values = {}
    for line in text.splitlines():
        if line.startswith(("gongji_batch_commands_count ", 'gongji_batch_commands_bucket{le="1.0"}')):
            name, _, value = line.rpartition(" ")
            values[name] = float(value)
    return int(values.get("gongji_batch_commands_count", 0)
               - values.get('gongji_batch_commands_bucket{le="1.0"}', 0))


def run_with_crashes(tmp_path, *, cycles: int, clients: int, load_s: float,  # noqa: ANN001
                     max_ops_per_client: int) -> tuple[list[Op], Crashes]:
    pg = pgserver.ThrowawayPostgres(durable=True).start()
    server = None
    try:
        with psycopg.connect(pg.conninfo, autocommit=True) as admin:
            admin.execute("CREATE DATABASE gongji")
        url = pgserver.with_database(pg.url, "gongji")
        server = GongjiServer(url, tmp_path / "server.log", admin_token=ADMIN).start()
        data = load(server.base_url, families=clients)
        stop = threading.Event()
        threads = [Client(n, server.base_url, data, stop, max_ops_per_client)
                   for n in range(clients)]
        for thread in threads:
            thread.start()
        crashes = Crashes()
        rng = random.Random(8)
        for cycle in range(cycles):
            time.sleep(rng.uniform(0.5, 1.0) * load_s)
            crash(cycle % 3, server, pg, crashes)
        time.sleep(load_s / 2)
        stop.set()
        for thread in threads:
            thread.join(RETRY_FOR_S + 30)
            assert not thread.is_alive(), f"{thread.name} did not finish"
            if thread.error:
                raise thread.error
        ops = [op for thread in threads for op in thread.ops]
        ops.append(answer_lost_after_commit(server, pg, url, data, crashes))
        replay_and_check(server.base_url, ops)
        server.stop()
        verified = subprocess.run([str(GONGJI), "verify", "--db", url], capture_output=True,
                                  text=True, timeout=300, check=False,
                                  env=server.env | {"COLUMNS": "200"})
        assert verified.returncode == 0, verified.stdout + verified.stderr
        check_the_journal(pgserver.conninfo(url), ops, data)
        return ops, crashes
    finally:
        if server is not None:
            server.kill()
        pg.stop()


def crash(kind: int, server: GongjiServer, pg: pgserver.ThrowawayPostgres,
          crashes: Crashes) -> None:
    """0: the server process dies; 1: the machine (server and database); 2: the database
    alone, the server living on and reconnecting (clients get 500s meanwhile)."""
    if kind in (0, 1):
        crashes.many_command_batches.append(batches_of_many(server.base_url))
        server.kill()
        crashes.server_kills += 1
    if kind in (1, 2):
        pg.kill(signal.SIGKILL)
        crashes.database_kills += 1
        time.sleep(0.2)
        pg.start()
    if kind in (0, 1):
        server.start()


def answer_lost_after_commit(server: GongjiServer, pg: pgserver.ThrowawayPostgres, url: str,
                             data: dict, crashes: Crashes) -> Op:
    """The case a random kill rarely hits: the settlement committed, then the machine died
    before the institution read the answer. Its retry must get that first settlement."""
    maker = Client(99, server.base_url, data, threading.Event(), 0)
    op = maker.settlement()
    maker.http.close()
    body = json.dumps(op.body).encode()
    request = (f"POST {op.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
               f"Authorization: {op.headers['Authorization']}\r\n"
               f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
               ).encode() + body
    with socket.create_connection(("127.0.0.1", server.port)) as sock, \
            psycopg.connect(pgserver.conninfo(url), autocommit=True) as conn:
        sock.sendall(request)  # and never read the answer
        deadline = time.monotonic() + 30
        while not conn.execute("SELECT 1 FROM settlements WHERE msgid = %s", [op.key]).fetchone():
            assert time.monotonic() < deadline, "the settlement never committed"
            time.sleep(0.01)
    crash(1, server, pg, crashes)
    op.lost += 1
    with httpx.Client(base_url=server.base_url, timeout=30.0) as http:
        send(http, op)
    with psycopg.connect(pgserver.conninfo(url)) as conn:
        stored = conn.execute("SELECT setl_id FROM settlements WHERE msgid = %s",
                              [op.key]).fetchall()
    assert op.succeeded and stored == [(op.answer["output"]["setlinfo"]["setl_id"],)], stored
    return op


def replay_and_check(base_url: str, ops: list[Op]) -> None:
    """Every successful request, sent again with its key: the first answer, nothing moved."""
    with httpx.Client(base_url=base_url, timeout=30.0) as http:
        for op in ops:
            if not op.succeeded:
                continue
            first = op.answer
            again = send(http, Op(op.kind, op.key, op.method, op.path, op.body, op.headers))
            assert again.succeeded, (op.kind, op.key, again.answer)
            if op.kind in ("settle", "reverse"):
                assert again.answer["output"] == first["output"], (op.key, first, again.answer)
            else:
                assert again.answer == first, (op.key, first, again.answer)


def check_the_journal(conninfo: str, ops: list[Op], data: dict) -> None:
    with psycopg.connect(conninfo) as conn:
        def one(sql: str, *args: object) -> tuple | None:
            return conn.execute(sql, args).fetchone()

        def rows(sql: str, *args: object) -> list[tuple]:
            return conn.execute(sql, args).fetchall()

        # No half-written transaction and no key settled twice.
        # a claim is committed only with its answer
        assert one("SELECT count(*) FROM idempotency WHERE response = ''")[0] == 0
        assert rows("SELECT institution_id, msgid FROM settlements GROUP BY 1, 2 "
                    "HAVING count(*) > 1") == []
        assert rows("SELECT s.setl_id FROM settlements s LEFT JOIN journal_txns t "
                    "ON t.id = s.txn_id WHERE t.id IS NULL") == []
        for op in ops:
            if op.kind == "settle":
                found = rows("SELECT s.setl_id, s.medfee_sumamt_fen, s.fund_pay_sumamt_fen, "
                             "s.acct_pay_fen, s.acct_mulaid_pay_fen, s.psn_cash_pay_fen "
                             "FROM settlements s JOIN institutions i ON i.id = s.institution_id "
                             "WHERE i.fixmedins_code = %s AND s.msgid = %s",
                             op.meta["code"], op.key)
                if not op.succeeded:
                    assert found == [], (op.key, op.answer)
                    continue
                info = op.answer["output"]["setlinfo"]
                assert found == [(info["setl_id"], fen(info["medfee_sumamt"]),
                                  fen(info["fund_pay_sumamt"]), fen(info["acct_pay"]),
                                  fen(info["acct_mulaid_pay"]), fen(info["psn_cash_pay"]))], op.key
                lines = rows("SELECT p.psn_no, m.amount_fen FROM settlement_mulaid m "
                             "JOIN settlements s ON s.id = m.settlement_id "
                             "JOIN persons p ON p.id = m.helper_id WHERE s.setl_id = %s "
                             "ORDER BY m.seq", info["setl_id"])
                assert lines == [(d["helper_psn_no"], fen(d["amount"]))
                                 for d in op.answer["output"]["mulaid_detail"]], op.key
            elif op.kind == "reverse" and op.succeeded:
                setl_id = op.body["input"]["data"]["setl_id"]
                assert one("SELECT 1 FROM settlements s JOIN journal_txns t "
                           "ON t.id = s.reversal_txn_id WHERE s.setl_id = %s", setl_id), op.key
            elif op.kind == "premium" and op.succeeded:
                assert one("SELECT amount_fen FROM premiums p JOIN journal_txns t "
                           "ON t.id = p.txn_id WHERE p.id = %s",
                           op.answer["premium_id"]) == (fen(op.answer["amount"]),), op.key
            elif op.kind == "premium_reverse" and op.succeeded:
                assert one("SELECT 1 FROM premiums p JOIN journal_txns t "
                           "ON t.id = p.reversal_txn_id WHERE p.id = %s",
                           op.answer["premium_id"]), op.key
        expected = expected_balances(ops, data)
        actual = dict(rows("SELECT p.psn_no, a.balance_fen FROM accounts a "
                           "JOIN persons p ON p.id = a.person_id"))
        assert actual == expected


def expected_balances(ops: list[Op], data: dict) -> dict[str, int]:
    """What the clients' own answers say every balance must be: the credits, less what
    each unreversed settlement took from the patient's and the helpers' accounts, less
    each unreversed premium."""
    balance = Counter(data["credits"])
    reversed_keys = {op.meta["settlement"] for op in ops if op.kind == "reverse" and op.succeeded}
    refunded = {op.meta["premium"] for op in ops if op.kind == "premium_reverse" and op.succeeded}
    for op in ops:
        if op.kind == "settle" and op.succeeded and op.key not in reversed_keys:
            balance[op.meta["patient"]] -= fen(op.answer["output"]["setlinfo"]["acct_pay"])
            for line in op.answer["output"]["mulaid_detail"]:
                balance[line["helper_psn_no"]] -= fen(line["amount"])
        elif op.kind == "premium" and op.succeeded and op.key not in refunded:
            balance[op.meta["helper"]] -= fen(op.answer["amount"])
    return {psn_no: balance[psn_no] for family in data["families"]
            for psn_no in (family.mother["psn_no"], family.father["psn_no"])}


def report(ops: list[Op], crashes: Crashes) -> str:
    kinds = Counter(op.kind for op in ops)
    ok = Counter(op.kind for op in ops if op.succeeded)
    refused = Counter(op.code for op in ops if not op.succeeded)
    lost = [op for op in ops if op.lost]
    return (f"crash test: {len(ops)} operations ({dict(kinds)}), {sum(ok.values())} succeeded "
            f"({dict(ok)}), refused {dict(refused)}; {crashes.server_kills} server kills, "
            f"{crashes.database_kills} database kills survived; {len(lost)} operations lost "
            f"an answer and were retried ({sum(op.lost for op in ops)} lost attempts); "
            f"batches of more than one command before each server kill: "
            f"{crashes.many_command_batches}")


def check_run(tmp_path, **kw) -> None:  # noqa: ANN001
    ops, crashes = run_with_crashes(tmp_path, **kw)
    record(report(ops, crashes))
    assert sum(op.succeeded for op in ops if op.kind == "settle") > 0
    assert sum(crashes.many_command_batches) > 0, "the server never ran a batch of several"
    assert not [op for op in ops if op.code in ("ALREADY_REVERSED", "PREMIUM_ALREADY_REVERSED",
                                                "IDEMPOTENCY_CONFLICT")], \
        "a retried key was judged again instead of answered from its first answer"


def test_nothing_is_lost_or_doubled_when_the_server_and_database_are_killed(tmp_path):
    check_run(tmp_path, cycles=3, clients=3, load_s=1.5, max_ops_per_client=400)


@pytest.mark.deep
def test_nothing_is_lost_or_doubled_over_many_crash_cycles(tmp_path):
    check_run(tmp_path, cycles=16, clients=4, load_s=3.0, max_ops_per_client=5000)
