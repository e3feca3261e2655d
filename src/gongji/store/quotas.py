"""共济额度 (the helper's quota) in the database: what is reserved, draws and refunds.

A quota lives on its binding (bindings.quota_fen, bindings.quota_remaining_fen). The lock
that guards both columns is the helper's personal account row: setting a quota
(services/binding/quota.py) locks it first, a settlement or premium draws only while it
holds it (repo.lock_accounts), and a reversal refunds after journal.mirror_legs has locked
it. So whoever holds that row reads quotas no one else is changing, and a read that
decides money is made after the lock is granted (a fresh statement under READ COMMITTED
sees every change committed before).

Reserved money is the sum of the remaining quotas of a helper's *active* bindings: an
unbound or ended binding reserves nothing, which is how unbinding releases its quota.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import Connection, bindparam, case, select, update

from gongji.domain.lifecycle import BindingStatus
from gongji.domain.waterfall import spendable_fen
from gongji.store.held import held
from gongji.store.journal import Leg
from gongji.store.schema import bindings
from gongji.store.writebehind import defer

_QUOTAS_OF_HELPERS = (
    select(bindings.c.id, bindings.c.helper_id, bindings.c.quota_remaining_fen)
    .where(bindings.c.helper_id.in_(bindparam("helper_ids", expanding=True)),
           bindings.c.status == BindingStatus.ACTIVE,
           bindings.c.quota_remaining_fen.is_not(None))
)


@dataclass(frozen=True)
class Reserves:
    """The remaining quotas of some helpers' active bindings, read under their locks."""

    remaining: dict[int, int] = field(default_factory=dict)  # binding id -> remaining
    reserved: dict[int, int] = field(default_factory=dict)  # helper person id -> sum

    def own_cap(self, person_id: int, balance_fen: int) -> int:
        """What the holder may spend themself: nothing their quotas reserve."""
        return spendable_fen(balance_fen, self.reserved.get(person_id, 0))

    def binding_cap(self, binding_id: int, helper_id: int, balance_fen: int) -> int:
        """What a binding may draw: its remaining quota, or with none the unreserved rest."""
        return spendable_fen(balance_fen, self.reserved.get(helper_id, 0),
                             self.remaining.get(binding_id))


def read(conn: Connection, helper_ids: Iterable[int]) -> Reserves:
    """The quotas of these persons' active bindings as helpers (call it under their locks)."""
    helper_ids = sorted(set(helper_ids))
    if not helper_ids:
        return Reserves()
    rows = held(conn)
    if rows is not None and rows.quota_helpers.issuperset(helper_ids):
        found = [(b, h, left) for b, (h, left) in rows.quotas.items() if h in helper_ids]
    else:
        found = [(r.id, r.helper_id, r.quota_remaining_fen)
                 for r in conn.execute(_QUOTAS_OF_HELPERS, {"helper_ids": helper_ids})]
    remaining: dict[int, int] = {}
    reserved: dict[int, int] = {}
    for binding_id, helper_id, left in found:
        remaining[binding_id] = left
        reserved[helper_id] = reserved.get(helper_id, 0) + left
    return Reserves(remaining, reserved)


# Every active binding of some helpers, with its quota if it has one: read by a batch
# under the helpers' account locks (settlement/prelock_reads.py).
ACTIVE_OF_HELPERS = (
    select(bindings.c.id, bindings.c.helper_id, bindings.c.quota_remaining_fen)
    .where(bindings.c.helper_id.in_(bindparam("helper_ids", expanding=True)),
           bindings.c.status == BindingStatus.ACTIVE))


def reserved_of(conn: Connection, person_id: int) -> int:
    """How much of the person's balance their quotas reserve (for showing; not locked)."""
    return read(conn, [person_id]).reserved.get(person_id, 0)


# No guard in the WHERE: a draw beyond what remains would break ck_bindings_quota_within
# and roll the whole unit of work back, rather than pass unnoticed.
_DRAW = (update(bindings)
         .where(bindings.c.id == bindparam("q_binding"))
         .values(quota_remaining_fen=bindings.c.quota_remaining_fen - bindparam("q_amount")))


def draw(conn: Connection, draws: Iterable[tuple[int, int]],
         remaining: dict[int, int]) -> None:
    """Lower the remaining quota of each binding that has one (`remaining`, read under the
    helper's account lock, still held) by what it paid: the CHECK behind it cannot fail.
    Written behind with the unit of work's next round trip, like the postings."""
    rows = [{"q_binding": binding_id, "q_amount": amount_fen}
            for binding_id, amount_fen in draws
            if binding_id in remaining and amount_fen > 0]
    if rows:
        defer(conn, _DRAW, rows)
        kept = held(conn)
        if kept is not None:
            for row in rows:
                if row["q_binding"] in kept.quotas:
                    helper_id, left = kept.quotas[row["q_binding"]]
                    kept.quotas[row["q_binding"]] = (helper_id, left - row["q_amount"])


_raised = bindings.c.quota_remaining_fen + bindparam("q_amount")
_GIVE_BACK = (update(bindings)
              .where(bindings.c.id == bindparam("q_binding"), bindings.c.quota_fen.is_not(None))
              .values(quota_remaining_fen=case((_raised > bindings.c.quota_fen,
                                                bindings.c.quota_fen), else_=_raised)))


def give_back(conn: Connection, legs: Iterable[Leg]) -> None:
    """A reversal's refund raises the remaining quota of each binding that paid by what it
    gets back, never above the quota set. `legs` are the mirror legs (journal.mirror_legs,
    which locked the helpers' accounts): a personal account getting money back under a
    binding is that binding's draw undone. A binding that never had a quota is untouched."""
    rows = [{"q_binding": leg.binding_id, "q_amount": leg.amount_fen} for leg in legs
            if leg.binding_id is not None and leg.balance_after_fen is not None
            and leg.amount_fen > 0]
    if rows:
        conn.execute(_GIVE_BACK, rows)
        kept = held(conn)
        if kept is not None:  # capped at the quota set: read them afresh from here on
            for row in rows:
                helper = kept.quotas.pop(row["q_binding"], None)
                if helper is not None:
                    kept.quota_helpers.discard(helper[0])


def set_quota(conn: Connection, binding_id: int, quota_fen: int) -> bool:
    """Set (or change) an active binding's quota; what remains starts at the whole quota.
    False if the binding is no longer active."""
    return conn.execute(update(bindings).where(
        bindings.c.id == binding_id, bindings.c.status == BindingStatus.ACTIVE,
    ).values(quota_fen=quota_fen, quota_remaining_fen=quota_fen)).rowcount == 1
