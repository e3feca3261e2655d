"""The policy in force for a pooling region on a day (政策版本), read from `policy_versions`.

The rules of region R on day D: every version of R's province, then every version of R
itself, with effective_from ≤ D, each folded over the last in (effective_from, id) order
(a rule a version sets replaces that rule's whole value). A province's rules therefore
reach each region that does not set its own. The policy's `version` is the id of the
last of those rows, its `effective_from` that row's day.

Every worker sees a publication on its next call: each lookup asks the database which
rows apply (one indexed query of ids); the parsed policy is cached per process under
that tuple of rows, which no later publication can change (a new row is a new tuple).

Within one transaction a region's policy is read once (`_memo`): a settlement that
races a publication applies and records the same version, whichever committed first.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from datetime import date

from sqlalchemy import Connection, bindparam, or_, select

from gongji.domain.errors import DomainError, refuse
from gongji.domain.policy import RegionPolicy, apply_changes, build_policy
from gongji.domain.policy_files import check_region, province_of, region_name
from gongji.store.schema import policy_versions as pv

_ROWS_IN_FORCE = (  # two plain parameters, not an expanding IN: compiled once, cached
    select(pv.c.id, pv.c.admdvs, pv.c.effective_from, pv.c.published_at)
    .where(or_(pv.c.admdvs == bindparam("province"), pv.c.admdvs == bindparam("region")),
           pv.c.effective_from <= bindparam("day"))
    .order_by(pv.c.effective_from, pv.c.id)
)
_RULES = select(pv.c.id, pv.c.rules, pv.c.sources).where(
    pv.c.id.in_(bindparam("ids", expanding=True)))

_CACHE: OrderedDict[tuple, RegionPolicy] = OrderedDict()
_CACHE_SIZE = 512
_MEMO_KEY = "gongji.policy_memo"


def policy_on(conn: Connection, admdvs: str, day: date) -> RegionPolicy:
    """The policy of region `admdvs` in force on `day` (Asia/Shanghai): INVALID_REGION for
    an unknown region, POLICY_NOT_IN_FORCE before its first version."""
    check_region(admdvs)
    memo = _memo(conn)
    policy = memo.get((admdvs, day)) if memo is not None else None
    if policy is None:
        policy = _lookup(conn, admdvs, day)
        memo = _memo(conn) if memo is None else memo  # the query began the transaction
        if memo is not None:
            memo[(admdvs, day)] = policy
    return policy


def _memo(conn: Connection) -> dict | None:
    """This transaction's policies by (region, day); None outside a transaction."""
    tx = conn.get_transaction()
    if tx is None:
        return None
    held = conn.info.get(_MEMO_KEY)
    if held is None or held[0] is not tx:  # `info` outlives the transaction: start afresh
        held = (tx, {})
        conn.info[_MEMO_KEY] = held
    return held[1]


def read_ahead(conn: Connection, regions: set[str], day: date) -> None:
    """The policies of many regions on `day`, looked up in one query and kept for the
    transaction, as `policy_on` would keep each (a batch's settlements: one read for all
    their patients' and helpers' regions). Unknown regions are left to policy_on."""
    wanted = not_yet_read(conn, regions, day)
    if wanted:
        keep_read(conn, wanted, day, conn.execute(
            _ROWS_OF_MANY, {"names": rows_to_read(wanted), "day": day}).all())


def not_yet_read(conn: Connection, regions: set[str], day: date) -> list[str]:
    """Of these regions, the known ones whose policy on `day` this transaction has not
    read yet (none outside a transaction)."""
    memo = _memo(conn)
    if memo is None:
        return []
    return sorted(r for r in regions if _known(r) and (r, day) not in memo)


def rows_to_read(regions: list[str]) -> list[str]:
    """The admdvs whose version rows make these regions' policies: theirs and their
    provinces'."""
    return sorted(set(regions) | {province_of(r) for r in regions})


def keep_read(conn: Connection, regions: list[str], day: date, rows: list) -> None:
    """Fold the version rows read for `regions` (id, admdvs, effective_from, published_at;
    in (effective_from, id) order) and keep each policy for the transaction."""
    memo = _memo(conn)
    for admdvs in regions:
        mine = [r for r in rows if r.admdvs in (admdvs, province_of(admdvs))]
        if mine and memo is not None:
            memo[(admdvs, day)] = _policy_of_rows(conn, admdvs, mine)


_ROWS_OF_MANY = (
    select(pv.c.id, pv.c.admdvs, pv.c.effective_from, pv.c.published_at)
    .where(pv.c.admdvs.in_(bindparam("names", expanding=True)),
           pv.c.effective_from <= bindparam("day"))
    .order_by(pv.c.effective_from, pv.c.id)
)


def _known(admdvs: str) -> bool:
    try:
        check_region(admdvs)
    except DomainError:
        return False
    return True


def _lookup(conn: Connection, admdvs: str, day: date) -> RegionPolicy:
    province = province_of(admdvs)
    rows = conn.execute(_ROWS_IN_FORCE, {"province": province, "region": admdvs,
                                         "day": day}).all()
    return _policy_of_rows(conn, admdvs, rows, day)


def _policy_of_rows(conn: Connection, admdvs: str, rows: list,
                    day: date | None = None) -> RegionPolicy:
    """The policy from the version rows in force (the province's and the region's, in
    (effective_from, id) order), folded once per process for each such tuple."""
    province = province_of(admdvs)
    if not rows:
        raise refuse("POLICY_NOT_IN_FORCE", f"{admdvs} {day.isoformat()}")
    ordered = [r for r in rows if r.admdvs == province] + [r for r in rows if r.admdvs == admdvs]
    # Keyed by database too (a process may serve several: tests do). A row is cached only
    # once committed (publication builds its checks without this cache), so an id that
    # SQLite hands out again after a rollback was never cached.
    key = (str(conn.engine.url), admdvs, tuple((r.id, r.published_at) for r in ordered))
    policy = _CACHE.get(key)
    if policy is None:
        latest = rows[-1]
        policy = fold(admdvs, _rules_of(conn, [r.id for r in ordered]),
                      [r.id for r in ordered], latest.id, latest.effective_from)
        _CACHE[key] = policy
        while len(_CACHE) > _CACHE_SIZE:
            _CACHE.popitem(last=False)
    return policy


def _rules_of(conn: Connection, ids: list[int]) -> dict[int, tuple[dict, dict]]:
    found = {}
    for row in conn.execute(_RULES, {"ids": ids}):
        found[row.id] = (json.loads(row.rules), json.loads(row.sources) if row.sources else {})
    return found


def fold(admdvs: str, stored: dict[int, tuple[dict, dict]], ids: list[int], version: int,
         effective_from: date) -> RegionPolicy:
    """Fold the stored rules of `ids` in that order into the region's policy. A rule set by
    a later row takes the later row's source (or none: published by the operator)."""
    rules: dict = {}
    sources: dict[str, str] = {}
    examples: set[str] = set()
    for version_id in ids:
        changes, provenance = stored[version_id]
        rules = apply_changes(rules, changes)
        for rule in changes:  # the earlier row's sources and examples no longer describe it
            sources = {p: s for p, s in sources.items() if p.split(".")[0] != rule}
            examples = {p for p in examples if p.split(".")[0] != rule}
            if not provenance:
                sources[rule] = f"政策版本 {version_id}"
        sources |= provenance.get("sources", {})
        examples |= set(provenance.get("examples", ()))
    return build_policy(admdvs, region_name(admdvs), rules, version=version,
                        effective_from=effective_from, sources=sources,
                        examples=frozenset(examples))
