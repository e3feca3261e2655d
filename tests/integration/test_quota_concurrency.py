"""共济额度 under concurrency on a real PostgreSQL: relatives sharing one helper, one of
them under a quota, and the helper themself, all settling at once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import select

from gongji.services.binding import quota
from gongji.services.operations.verify import verify
from gongji.store.schema import bindings
from quota_support import enable_quotas
from support import ok


def test_racing_settlements_never_overdraw_a_quota_or_touch_its_reserve(pg_world):
    """Helper 1000 yuan; the child's binding has a 400 quota, the sister's none; the child,
    the sister and the helper each ask for more than they may have, at once. Whatever the
    interleaving: the child gets exactly the quota, the sister and the helper share exactly
    the unreserved 600 (had either taken reserved money, the child would get less), and the
    balance ends at zero with the quota used up."""
    enable_quotas(pg_world.ctx, "542500")
    codes = [pg_world.institution(f"P{i:04d}", "pharmacy") for i in range(30)]
    helper = pg_world.person("共济人", credit="1000.00")
    child, sister = pg_world.person("孩子", "390"), pg_world.person("妹妹", "390")
    child_binding = pg_world.bind(helper, child, "child")
    pg_world.bind(helper, sister, "sibling")
    quota.set_quota(pg_world.ctx, helper["psn_no"], child_binding, {"quota": "400.00"})
    who = [child] * 12 + [sister] * 12 + [helper] * 6  # asked: 720, 960, 480 yuan

    def charge(i: int) -> tuple[str, dict]:
        setl = ok(pg_world.settle(codes[i], who[i], "60.00" if who[i] is child else "80.00",
                               infno="2102"))["setlinfo"]
        return who[i]["psn_no"], setl

    with ThreadPoolExecutor(30) as pool:
        results = list(pool.map(charge, range(30)))
    taken = {p["psn_no"]: 0 for p in (child, sister, helper)}
    for psn_no, setl in results:
        taken[psn_no] += setl["acct_pay"] if psn_no == helper["psn_no"] else \
            setl["acct_mulaid_pay"]
    assert taken[child["psn_no"]] == 400
    assert taken[sister["psn_no"]] + taken[helper["psn_no"]] == 600
    assert pg_world.balance_fen(helper) == 0
    with pg_world.ctx.read() as uow:
        assert uow.conn.execute(select(bindings.c.quota_remaining_fen).where(
            bindings.c.id == child_binding)).scalar_one() == 0
    assert [r.check.name for r in verify(pg_world.ctx) if r.total] == []


def test_a_quota_set_while_relatives_settle_is_never_exceeded(pg_world):
    """The helper sets quotas smaller than one draw while the child settles again and again.
    Setting one takes the helper's account lock, so a settlement never decides from a
    remaining quota that a setting replaced meanwhile: had it, its draw would exceed the
    new quota, the CHECK would refuse its unit of work and ok() would fail."""
    enable_quotas(pg_world.ctx, "542500")
    codes = [pg_world.institution(f"Q{i:04d}", "pharmacy") for i in range(20)]
    helper = pg_world.person("共济人", credit="1000.00")
    child = pg_world.person("孩子", "390")
    child_binding = pg_world.bind(helper, child, "child")
    quota.set_quota(pg_world.ctx, helper["psn_no"], child_binding, {"quota": "100.00"})

    def work(i: int) -> object:
        if i % 4 == 0:
            return quota.set_quota(pg_world.ctx, helper["psn_no"], child_binding,
                                   {"quota": f"{10 + i % 20}.00"})  # below one draw of 30
        return ok(pg_world.settle(codes[i % 20], child, "30.00", infno="2102"))["setlinfo"]

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(work, range(80)))
    drawn_fen = sum(round(r["acct_mulaid_pay"] * 100) for r in results if "acct_pay" in r)
    with pg_world.ctx.read() as uow:
        quota_fen, remaining_fen = uow.conn.execute(
            select(bindings.c.quota_fen, bindings.c.quota_remaining_fen)
            .where(bindings.c.id == child_binding)).one()
    assert 0 <= remaining_fen <= quota_fen
    assert drawn_fen > 0 and pg_world.balance_fen(helper) == 100000 - drawn_fen
    assert [r.check.name for r in verify(pg_world.ctx) if r.total] == []
