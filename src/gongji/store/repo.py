"""Small read and lookup queries shared by the services."""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from sqlalchemy import Connection, Engine, Row, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from gongji.store.schema import accounts, institutions, persons

_PERSON_COLS = (
    persons.c.id, persons.c.psn_no, persons.c.certno, persons.c.psn_name, persons.c.insutype,
    persons.c.insuplc_admdvs, persons.c.psn_insu_stas, persons.c.card_no,
    accounts.c.id.label("account_id"), accounts.c.status.label("account_status"),
    accounts.c.balance_fen,
)


def _person_query():
    return select(*_PERSON_COLS).select_from(
        persons.outerjoin(accounts, accounts.c.person_id == persons.c.id)
    )


def person_by_psn_no(conn: Connection, psn_no: str) -> Row | None:
    return conn.execute(_person_query().where(persons.c.psn_no == psn_no)).first()


def person_by_certno(conn: Connection, certno: str) -> Row | None:
    return conn.execute(_person_query().where(persons.c.certno == certno)).first()


def person_by_card(conn: Connection, card_no: str) -> Row | None:
    return conn.execute(_person_query().where(persons.c.card_no == card_no)).first()


def person_by_id(conn: Connection, person_id: int) -> Row | None:
    return conn.execute(_person_query().where(persons.c.id == person_id)).first()


def persons_by_ids(conn: Connection, ids: Iterable[int]) -> dict[int, Row]:
    ids = list(set(ids))
    if not ids:
        return {}
    rows = conn.execute(_person_query().where(persons.c.id.in_(ids))).all()
    return {row.id: row for row in rows}


def institution_by_code(conn: Connection, code: str) -> Row | None:
    return conn.execute(select(institutions).where(institutions.c.fixmedins_code == code)).first()


def lock_accounts(conn: Connection, ids: Iterable[int]) -> dict[int, Row]:
    """Lock personal account rows in ascending id order (deadlock-free) and read them."""
    ids = sorted(set(ids))
    if not ids:
        return {}
    query = (select(accounts.c.id, accounts.c.balance_fen, accounts.c.status)
             .where(accounts.c.id.in_(ids)).order_by(accounts.c.id))
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return {row.id: row for row in conn.execute(query)}


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
    query = select(accounts.c.id, accounts.c.balance_fen, accounts.c.status).where(
        accounts.c.id.in_(ids))
    return {row.id: row for row in conn.execute(query)}
