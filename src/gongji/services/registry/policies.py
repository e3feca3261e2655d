"""The operator's side of region policies: read the version in force, publish a new one,
and apply the auto-end rule when a version that switches it on takes effect.

Publishing: `{"effective_from": "YYYY-MM-DD" (today or later), "rules": {only what
changes}}` for a region (e.g. 451000) or a province (450000: every region of it that does
not set the rule itself). The new row is written, then every policy it reaches is built
again — on its first day and on the first day of every later version already published —
inside the same unit of work; any bad result refuses the whole call (INVALID_POLICY,
naming the rule), so nothing half-valid is ever in force. Audited (entity "policy").

Auto-end (auto_end_on_insurance_change) takes effect with its version, not only on a
person's next change: a version that sets the rule is "due" from its effective day until
`apply_due` has run for it, once (a guarded `applied_at`). apply_due runs
- at publication, when the version is effective today;
- lazily, on the first call of each Asia/Shanghai day in every process (the REST
  dependency `api/deps.context` and the command line's context call `apply_due_once_a_day`),
  so a future version is applied by whichever call first comes on or after its day;
- on demand: `gongji policy apply-due` (for a scheduler; it is never needed for correctness).
It ends the active bindings of every party whose insurance has already ended (suspended,
in that region) or who moved out of that region after the binding began (persons.moved_at,
kept by a trigger), audited with the version that ended them.
"""

from __future__ import annotations

import json
import tomllib
from datetime import date, datetime
from weakref import WeakKeyDictionary

from sqlalchemy import Connection, Engine, and_, insert, or_, select, update

from gongji.domain.codes import InsuStatus
from gongji.domain.errors import DomainError, refuse
from gongji.domain.lifecycle import BindingEvent, BindingStatus
from gongji.domain.policy import normalize_rules, render_rules
from gongji.domain.policy_files import (
    check_scope,
    parse_layer,
    province_of,
    regions_of,
    shipped_layers,
)
from gongji.services.binding.actor import Actor, AuditEvent, record
from gongji.services.binding.unbinding import INSURANCE_CHANGE, close
from gongji.services.clock import iso, local_date
from gongji.services.context import Context
from gongji.services.policy.versions import fold, policy_on
from gongji.store import repo
from gongji.store.schema import bindings, persons
from gongji.store.schema import policy_versions as pv

AUTO_END = "auto_end_on_insurance_change"
SWEEP_ACTOR = Actor("system", "policy")


# --- reading ---------------------------------------------------------------------------


def show(ctx: Context, admdvs: str, day: date | None = None) -> dict:
    """The version in force (today unless `day`): a region's whole policy, or a province's
    own common rules."""
    scope = check_scope(admdvs)
    day = day or local_date(ctx.now())
    with ctx.read() as uow:
        if shipped_layers()[scope].is_province:
            return _province_view(uow.conn, scope, day)
        policy = policy_on(uow.conn, scope, day)
    return {"admdvs": scope, "name": policy.name, "version": policy.version,
            "effective_from": policy.effective_from.isoformat(), "rules": render_rules(policy),
            "sources": policy.sources, "examples": sorted(policy.examples)}


def _province_view(conn: Connection, province: str, day: date) -> dict:
    rows = conn.execute(select(pv).where(pv.c.admdvs == province, pv.c.effective_from <= day)
                        .order_by(pv.c.effective_from, pv.c.id)).all()
    if not rows:
        raise refuse("POLICY_NOT_IN_FORCE", f"{province} {day.isoformat()}")
    rules: dict = {}
    for row in rows:
        rules |= json.loads(row.rules)
    return {"admdvs": province, "name": shipped_layers()[province].name,
            "version": rows[-1].id, "effective_from": rows[-1].effective_from.isoformat(),
            "rules": rules, "regions": list(regions_of(province))}


def history(ctx: Context, admdvs: str) -> dict:
    """Every version of a region's province and of the region (or of a province), oldest
    first: what each one set, from when, published by whom."""
    scope = check_scope(admdvs)
    scopes = [scope] if shipped_layers()[scope].is_province else [province_of(scope), scope]
    with ctx.read() as uow:
        rows = uow.conn.execute(select(pv).where(pv.c.admdvs.in_(scopes))
                                .order_by(pv.c.effective_from, pv.c.id)).all()
    return {"admdvs": scope, "versions": [
        {"version": r.id, "admdvs": r.admdvs, "effective_from": r.effective_from.isoformat(),
         "rules": json.loads(r.rules), "published_at": iso(r.published_at),
         "published_by": r.published_by, "applied_at": iso(r.applied_at)} for r in rows]}


# --- publishing ------------------------------------------------------------------------


def parse_effective_from(value: object, today: date) -> date:
    if not isinstance(value, str) or len(value) != 10:
        raise refuse("INVALID_POLICY", "effective_from：须为 YYYY-MM-DD")
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise refuse("INVALID_POLICY", "effective_from：须为 YYYY-MM-DD") from None
    if day < today:
        raise refuse("INVALID_POLICY", f"effective_from：须为今天（{today.isoformat()}）或以后")
    return day


def publish_file(ctx: Context, text: str, effective_from: str, actor: Actor) -> dict:
    """`gongji policy publish FILE`: a file in the shipped format (admdvs and the rules it
    changes, each with its source); the sources are kept with the version."""
    try:
        layer = parse_layer(tomllib.loads(text), named=False)
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise refuse("INVALID_POLICY", str(exc)[:300]) from None
    provenance = {"sources": {p: s for p, s in layer.sources.items() if p != "admdvs"},
                  "examples": sorted(layer.examples)}
    return publish(ctx, layer.admdvs, {"effective_from": effective_from, "rules": layer.rules},
                   actor, provenance)


def publish(ctx: Context, admdvs: str, data: object, actor: Actor,
            provenance: dict | None = None) -> dict:
    """A new version of a region's or a province's rules; 201 {"version", "effective_from"}."""
    scope = check_scope(admdvs)
    if not isinstance(data, dict):
        raise refuse("INVALID_POLICY", "须为 {\"effective_from\", \"rules\"}")
    now = ctx.now()
    effective_from = parse_effective_from(data.get("effective_from"), local_date(now))
    changes = normalize_rules(data.get("rules"))
    with ctx.uow() as uow:
        conn = uow.conn
        version = conn.execute(insert(pv).values(
            admdvs=scope, effective_from=effective_from,
            rules=json.dumps(changes, ensure_ascii=False, sort_keys=True),
            sources=json.dumps(provenance, ensure_ascii=False, sort_keys=True)
            if provenance else None,
            published_at=now, published_by=actor.actor_id[:40]).returning(pv.c.id)).scalar_one()
        _check_reach(conn, scope, effective_from)
        record(conn, AuditEvent(now, "policy", version, "publish", actor, detail={
            "admdvs": scope, "effective_from": effective_from.isoformat(), "rules": changes}))
        uow.commit()
    answer = {"version": version, "admdvs": scope, "effective_from": effective_from.isoformat(),
              "rules": changes}
    if effective_from == local_date(now) and AUTO_END in changes:
        answer["ended_binding_ids"] = apply_due(ctx)
    return answer


def _check_reach(conn: Connection, scope: str, effective_from: date) -> None:
    """Every policy the new row reaches, on each day it changes, must build (folded here
    without the process cache: this row is not committed yet)."""
    for region in regions_of(scope):
        scopes = [province_of(region), region]
        rows = conn.execute(select(pv.c.id, pv.c.admdvs, pv.c.effective_from, pv.c.rules,
                                   pv.c.sources).where(pv.c.admdvs.in_(scopes))
                            .order_by(pv.c.effective_from, pv.c.id)).all()
        stored = {r.id: (json.loads(r.rules), json.loads(r.sources) if r.sources else {})
                  for r in rows}
        for day in sorted({effective_from} | {r.effective_from for r in rows
                                              if r.effective_from > effective_from}):
            upto = [r for r in rows if r.effective_from <= day]
            ids = ([r.id for r in upto if r.admdvs == scopes[0]]
                   + [r.id for r in upto if r.admdvs == region])
            try:
                fold(region, stored, ids, upto[-1].id, upto[-1].effective_from)
            except DomainError as exc:
                if scope != region:  # a province's change: say which region it breaks
                    raise refuse("INVALID_POLICY", f"{region}（{day.isoformat()} 起）："
                                 f"{exc.message.split('：', 1)[-1]}") from None
                raise


# --- auto-end when a version takes effect ---------------------------------------------


def apply_due(ctx: Context) -> list[int]:
    """Run the auto-end rule for every version effective by today that sets it and has not
    been applied; returns the ended binding ids. Once per version, whoever calls."""
    now = ctx.now()
    today = local_date(now)
    ended: list[int] = []
    with ctx.uow() as uow:
        conn = uow.conn
        due = conn.execute(select(pv.c.id, pv.c.admdvs, pv.c.rules).where(
            pv.c.applied_at.is_(None), pv.c.effective_from <= today)
            .order_by(pv.c.effective_from, pv.c.id)).all()
        for row in due:
            claimed = conn.execute(update(pv).where(pv.c.id == row.id, pv.c.applied_at.is_(None))
                                   .values(applied_at=now)).rowcount
            if claimed != 1 or AUTO_END not in json.loads(row.rules):
                continue  # another process applied it, or it does not touch the rule
            for region in regions_of(row.admdvs):
                if policy_on(conn, region, today).auto_end_on_insurance_change:
                    ended += _end_in_region(conn, region, row.id, now)
        uow.commit()
    return ended


_helper, _beneficiary = persons.alias("h"), persons.alias("b")


def _left(party, region: str):  # noqa: ANN001, ANN202
    """The party's insurance ended in `region`, or they moved out of it since the binding."""
    return or_(and_(party.c.insuplc_admdvs == region,
                    party.c.psn_insu_stas == InsuStatus.SUSPENDED),
               and_(party.c.previous_admdvs == region,
                    party.c.moved_at > bindings.c.activated_at))


def _end_in_region(conn: Connection, region: str, version: int, now: datetime) -> list[int]:
    rows = conn.execute(
        select(bindings)
        .join(_helper, _helper.c.id == bindings.c.helper_id)
        .join(_beneficiary, _beneficiary.c.id == bindings.c.beneficiary_id)
        .where(bindings.c.status == BindingStatus.ACTIVE,
               or_(_left(_helper, region), _left(_beneficiary, region)))
        .order_by(bindings.c.id)).all()
    # the helpers' account locks first, as every binding change takes them
    repo.lock_accounts_of(conn, [r.helper_id for r in rows])
    ended = []
    for row in rows:
        try:
            close(conn, row, BindingEvent.END, INSURANCE_CHANGE, SWEEP_ACTOR, now,
                  {"reason": INSURANCE_CHANGE, "rule": AUTO_END, "policy_version": version,
                   "admdvs": region})
        except DomainError:  # closed meanwhile by its party: nothing left to end
            continue
        ended.append(row.id)
    return ended


_LAST_DAY: dict[str, date] = {}  # database URL → the last day apply_due ran in this process
_URL_OF: WeakKeyDictionary[Engine, str] = WeakKeyDictionary()  # rendered once per engine


def apply_due_once_a_day(ctx: Context) -> None:
    """The lazy trigger: the first call of each day (per process and database) applies
    whatever became due at midnight; later calls that day cost one comparison."""
    today = local_date(ctx.now())  # read before the run: a run across midnight counts for
    key = _database(ctx.engine)    # the day it began, so the new day's call runs again
    if _LAST_DAY.get(key) != today:
        apply_due(ctx)
        _LAST_DAY[key] = today


def due_today(ctx: Context) -> bool:
    """Whether apply_due has yet to run today for this database in this process: no I/O,
    so the event loop may ask it on every request and hand only a due run to a thread."""
    return _LAST_DAY.get(_database(ctx.engine)) != local_date(ctx.now())


def _database(engine: Engine) -> str:
    """The key of a database: its URL without the password (two engines on one database
    share their day)."""
    key = _URL_OF.get(engine)
    if key is None:
        key = _URL_OF[engine] = engine.url.render_as_string(hide_password=True)
    return key
