"""On a real PostgreSQL: settlements racing policy publications each apply exactly one
version, and the version a settlement records is the one whose numbers it applied."""

from __future__ import annotations

import json
import time
from concurrent.futures import ThreadPoolExecutor
from threading import Barrier

from sqlalchemy import select

from gongji.domain.policy import render_rules
from gongji.domain.policy_files import shipped_policy
from gongji.services.settlement import accumulators
from gongji.store.schema import policy_versions, settlements
from policy_support import publish
from support import ok

ALI = "542500"
SETTLEMENTS, PUBLICATIONS = 40, 20


def fund_rules(percent: int) -> dict:
    rules = render_rules(shipped_policy(ALI))["fund_rules"]
    rules["hospital"] = {**rules["hospital"], "ratio_percent": percent}
    return {"fund_rules": rules}


def test_a_settlement_racing_publications_records_the_version_it_applied(pg_world, monkeypatch):
    code = pg_world.institution()
    patients = [pg_world.person(f"病人{i}") for i in range(SETTLEMENTS)]
    # Widen the window between reading the fund rule and writing the settlement row, so a
    # publication often commits in between: the recorded version must still be the one read.
    read = accumulators.read
    monkeypatch.setattr(accumulators, "read",
                        lambda *a, **kw: (time.sleep(0.02), read(*a, **kw))[1])
    start = Barrier(2)

    def settle_all() -> list[dict]:
        start.wait()
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(lambda p: ok(pg_world.settle(code, p, "1000.00", "1000.00"))
                                 ["setlinfo"], patients))

    def publish_all() -> None:
        start.wait()
        for i in range(PUBLICATIONS):
            publish(pg_world.ctx, ALI, fund_rules(61 + i))  # each version a different ratio
            time.sleep(0.01)

    with ThreadPoolExecutor(2) as pool:
        settled = pool.submit(settle_all)
        pool.submit(publish_all).result()
        results = settled.result()

    with pg_world.ctx.read() as uow:
        recorded = dict(uow.conn.execute(select(settlements.c.setl_id,
                                                settlements.c.policy_version)).all())
        ratio_of = {row.id: json.loads(row.rules).get("fund_rules", {}).get("hospital", {})
                    .get("ratio_percent", 60)
                    for row in uow.conn.execute(select(policy_versions))}
    for setl in results:
        percent = ratio_of[recorded[setl["setl_id"]]]
        assert setl["fund_pay_sumamt"] == 800 * percent / 100, (setl, percent)
    assert len({recorded[s["setl_id"]] for s in results}) >= 2  # the race did happen
