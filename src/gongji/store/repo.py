"""Small read and lookup queries shared by the services."""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, Row, bindparam, delete, or_, select, tuple_
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.domain.errors import refuse
from gongji.domain.kinship import Relation
from gongji.domain.lifecycle import BindingStatus
from gongji.store.held import HeldAccount, held
from gongji.store.schema import accounts, bindings, idempotency, institutions, kinships, persons

_PERSON_COLS = (
    persons.c.id, persons.c.psn_no, persons.c.certno, persons.c.psn_name, persons.c.insutype,
    persons.c.insuplc_admdvs, persons.c.psn_insu_stas, persons.c.card_no,
    accounts.c.id.label("account_id"), accounts.c.status.label("account_status"),
    accounts.c.balance_fen,
)


def person_query():
    """A person with their own account's id, status and balance."""
    return select(*_PERSON_COLS).select_from(
        persons.outerjoin(accounts, accounts.c.person_id == persons.c.id)
    )


# Statements on the settlement path are built once: building and hashing a statement
# per call cost more CPU than the round trip it makes (bench/, profiled).
_PERSON_BY = {column.name: person_query().where(column == bindparam("key"))
              for column in (persons.c.psn_no, persons.c.certno, persons.c.card_no,
                             persons.c.id)}
_PERSON_WITH_HOLDER = {
    column.name: person_query().where(or_(persons.c.psn_no == bindparam("psn_no"),
                                           column == bindparam("cert_no")))
    for column in (persons.c.certno, persons.c.card_no)}


def person_by_psn_no(conn: Connection, psn_no: str) -> Row | None:
    return conn.execute(_PERSON_BY["psn_no"], {"key": psn_no}).first()


def known_person(conn: Connection, psn_no: str) -> Row:
    """The person with this psn_no, or the refusal PERSON_NOT_FOUND."""
    row = person_by_psn_no(conn, psn_no)
    if row is None:
        raise refuse("PERSON_NOT_FOUND")
    return row


def person_by_certno(conn: Connection, certno: str) -> Row | None:
    return conn.execute(_PERSON_BY["certno"], {"key": certno}).first()


def person_by_card(conn: Connection, card_no: str) -> Row | None:
    return conn.execute(_PERSON_BY["card_no"], {"key": card_no}).first()


def person_by_id(conn: Connection, person_id: int) -> Row | None:
    return conn.execute(_PERSON_BY["id"], {"key": person_id}).first()


def active_helpers():
    """Active bindings with their helper and the helper's own account: what a settlement
    may draw on. Callers add which beneficiaries and DEDUCTION_ORDER."""
    return (select(bindings.c.id, bindings.c.beneficiary_id, bindings.c.relation,
                   bindings.c.activated_at, persons.c.id.label("helper_id"), persons.c.psn_no,
                   persons.c.psn_name, persons.c.certno, persons.c.psn_insu_stas,
                   persons.c.insutype, persons.c.insuplc_admdvs,
                   accounts.c.id.label("account_id"), accounts.c.status)
            .select_from(bindings.join(persons, persons.c.id == bindings.c.helper_id)
                         .outerjoin(accounts, accounts.c.person_id == persons.c.id))
            .where(bindings.c.status == BindingStatus.ACTIVE))


# 扣款顺序: the beneficiary's order, then the earlier binding first
DEDUCTION_ORDER = (bindings.c.order_pos, bindings.c.activated_at, bindings.c.id)


def person_and_holder(conn: Connection, psn_no: str, cert_column: str,
                      cert_no: str) -> tuple[Row | None, Row | None]:
    """In one query: the person `psn_no` and the holder of a credential, found by
    `cert_column` ("certno" or "card_no")."""
    rows = conn.execute(_PERSON_WITH_HOLDER[cert_column],
                        {"psn_no": psn_no, "cert_no": cert_no}).all()
    person = next((row for row in rows if row.psn_no == psn_no), None)
    holder = next((row for row in rows if getattr(row, cert_column) == cert_no), None)
    return person, holder


def persons_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, Row]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = conn.execute(person_query().where(persons.c.id.in_(ids))).all()
    return {row.id: row for row in rows}


_INSTITUTION_BY_CODE = select(institutions).where(
    institutions.c.fixmedins_code == bindparam("code"))


def institution_by_code(conn: Connection, code: str) -> Row | None:
    rows = held(conn)
    if rows is not None and code in rows.institutions:
        return rows.institutions[code]
    return conn.execute(_INSTITUTION_BY_CODE, {"code": code}).first()


def lock_person(conn: Connection, person_id: int) -> None:
    """Hold a person's row until commit, so that changes to one beneficiary's bindings and
    invitations queue behind each other (PostgreSQL; SQLite writers are serial already).
    Settlements never lock person rows, so they do not wait on this."""
    query = select(persons.c.id).where(persons.c.id == person_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    conn.execute(query)


def lock_accounts(conn: Connection, ids: Iterable[int]) -> dict[int, Row]:
    """Lock personal account rows in ascending id order (deadlock-free) and read them."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    rows = held(conn)
    if rows is not None and all(i in rows.accounts for i in ids):  # a batch locked them
        return {i: rows.accounts[i] for i in ids}
    query = _LOCK_ACCOUNTS if conn.dialect.name == "postgresql" else ACCOUNT_ROWS
    found = {row.id: row for row in conn.execute(query, {"ids": ids})}
    if rows is not None:  # locked now, and current: the batch's from here on
        for row in found.values():
            rows.accounts[row.id] = HeldAccount(row.id, row.balance_fen, row.status)
        return {i: rows.accounts[i] for i in found}
    return found


def lock_accounts_of(conn: Connection, person_ids: Iterable[int]) -> None:
    """Lock the personal accounts of these persons, in ascending account id order.

    A binding change takes these before it reads the clock, so it serialises with every
    settlement drawing on the same helper (settlements lock the same rows)."""
    person_ids = sorted(set(person_ids))
    if person_ids and conn.dialect.name == "postgresql":
        conn.execute(_LOCK_ACCOUNTS_OF, {"person_ids": person_ids}).all()


_LOCK_ACCOUNTS_OF = (select(accounts.c.id)
                     .where(accounts.c.person_id.in_(bindparam("person_ids", expanding=True)),
                            accounts.c.kind == "personal")
                     .order_by(accounts.c.id).with_for_update())


def active_binding_ids(conn: Connection, binding_ids: Iterable[int]) -> set[int]:
    """Which of these bindings, read as active earlier in this unit of work, still are
    now that the helpers' accounts are locked.

    PostgreSQL: a fresh statement under READ COMMITTED sees every unbinding that committed
    before the lock was granted (unbindings take the same lock first). SQLite: BEGIN
    IMMEDIATE has kept every other writer out since before the first read."""
    binding_ids = sorted(set(binding_ids))
    if not binding_ids or conn.dialect.name != "postgresql":
        return set(binding_ids)
    rows = held(conn)
    if rows is not None and all(i in rows.active_bindings for i in binding_ids):
        return set(binding_ids)  # read after the batch's locks (settlement/prelock.py)
    return set(conn.scalars(_ACTIVE_BINDINGS, {"ids": binding_ids}))


_ACTIVE_BINDINGS = select(bindings.c.id).where(
    bindings.c.id.in_(bindparam("ids", expanding=True)),
    bindings.c.status == BindingStatus.ACTIVE)


ACCOUNT_ROWS = (select(accounts.c.id, accounts.c.balance_fen, accounts.c.status)
                 .where(accounts.c.id.in_(bindparam("ids", expanding=True)))
                 .order_by(accounts.c.id))
_LOCK_ACCOUNTS = ACCOUNT_ROWS.with_for_update()


_system_ids: weakref.WeakKeyDictionary[Engine, dict[str, int]] = weakref.WeakKeyDictionary()


def system_account(conn: Connection, code: str, kind: str) -> int:
    """Id of a system account (fund, cash, contribution, premium), created on first use.

    Ids never change, so they are cached per engine."""
    cache = _system_ids.setdefault(conn.engine, {})
    if code in cache:
        return cache[code]
    insert_fn = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    created = conn.execute(insert_fn(accounts).values(code=code, kind=kind)
                           .on_conflict_do_nothing(index_elements=["code"])
                           .returning(accounts.c.id)).first() is not None
    account_id = conn.execute(select(accounts.c.id).where(accounts.c.code == code)).scalar_one()
    if not created:  # a row made by this unit of work may still be rolled back
        cache[code] = account_id
    return account_id


def read_accounts(conn: Connection, ids: Iterable[int]) -> dict[int, Row]:
    """The same rows as lock_accounts, unlocked (pre-settlement moves nothing)."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    return {row.id: row for row in conn.execute(ACCOUNT_ROWS, {"ids": ids})}


def purge_idempotency_batch(conn: Connection, before: datetime, limit: int) -> int:
    """Delete at most `limit` exactly-once records created before `before` (oldest first);
    how many went. Small batches, each its own unit of work, keep every lock short."""
    i = idempotency.c
    oldest = (select(i.scope, i.key).where(i.created_at < before)
              .order_by(i.created_at).limit(limit))
    return conn.execute(delete(idempotency).where(tuple_(i.scope, i.key).in_(oldest))).rowcount


def registered_relation(conn: Connection, person_id: int, relative_id: int) -> Relation | None:
    """What the relative is to the person according to the registry, if anything."""
    value = conn.execute(select(kinships.c.relation).where(
        kinships.c.person_id == person_id, kinships.c.relative_id == relative_id)).scalar()
    return None if value is None else Relation(value)
