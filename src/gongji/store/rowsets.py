"""Many rows of one INSERT or UPDATE as few statements on PostgreSQL, each row's values
passed as one array per column and read back with unnest (store/writebehind.py sends a
batch's grouped rows this way).

Why: psycopg sends an executemany in a pipeline as one command per row, each with a wait
for the socket and a flush; a batch's postings, settlements, journal rows, balances,
accumulators and stored answers were dozens of them (bench/, profiled). One statement of
fixed text per kind of row is one command, planned once per connection.

INSERT: `INSERT ... SELECT FROM unnest(...) WITH ORDINALITY ORDER BY ordinal`, the rows in
their order. Only a plain INSERT qualifies: no RETURNING, no ON CONFLICT, no preset values,
and no column left out that SQLAlchemy would fill in (a Python-side default).
UPDATE: `UPDATE ... FROM unnest(...) AS u WHERE ...`, each bound value read from u, for a
WHERE of `column = :value` terms over a unique key (so each row names one row). One such
statement changes a row once, so the rows are cut into runs in which no row's key (the
values bound in its WHERE) repeats; a row whose key came before starts the next run, and the
runs go in order: each row's changes still apply in turn (a balance moved twice).
Either way every value must be of a kind the arrays carry exactly (strings, integers, dates,
times, booleans); anything else is sent as before. The arrays go in binary (`%b`): psycopg
writes text arrays in Python, escaping each string, at several times the cost. Strings go
as text[], so that a value too long for its column is refused, as it would be row by row
(a cast to varchar(n) would cut it).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    Date,
    DateTime,
    Insert,
    Integer,
    String,
    Table,
    UniqueConstraint,
    Update,
    func,
    literal_column,
    update,
)
from sqlalchemy.sql import operators
from sqlalchemy.sql.elements import BinaryExpression, BindParameter, BooleanClauseList
from sqlalchemy.sql.visitors import iterate, replacement_traverse
from sqlalchemy.types import NullType, TypeDecorator

from gongji.store.pgerrors import as_sqlalchemy_errors


@dataclass(frozen=True)
class _Plan:
    sql: str
    processors: tuple[Callable | None, ...]
    key_columns: tuple[str, ...] | None = None  # UPDATE: the values bound in its WHERE


# By the statement itself (held, so its id is never another's) and the rows' columns. The
# statements written behind are module constants: the bound only stops a leak.
_PLANS: OrderedDict[tuple[object, tuple[str, ...]], _Plan | None] = OrderedDict()
_PLANS_KEPT = 512


def write_many(conn: Connection, statement: object, rows: list[dict], **options) -> bool:  # noqa: ANN003
    """Write `rows` (all with the same keys) as one statement, or one per run of distinct keys
    for an UPDATE; False, having done nothing, when the statement or its values do not
    qualify."""
    if conn.dialect.name != "postgresql" or len(rows) < 2:
        return False
    columns = tuple(rows[0])
    key = (statement, columns)
    if key not in _PLANS:
        _PLANS[key] = _plan(statement, columns, conn)
        if len(_PLANS) > _PLANS_KEPT:
            _PLANS.popitem(last=False)
    plan = _PLANS[key]
    if plan is None:
        return False
    for run in _runs(rows, plan.key_columns):
        arrays = {}
        for n, (column, process) in enumerate(zip(columns, plan.processors, strict=True)):
            values = [row[column] for row in run]
            arrays[f"c{n}"] = [process(v) for v in values] if process else values
        if plan.key_columns is None:
            conn.exec_driver_sql(plan.sql, arrays, execution_options=options)
        else:
            _unprepared(conn, plan.sql, arrays)
    return True


def _unprepared(conn: Connection, sql: str, params: dict) -> None:
    """An UPDATE joined to its rows is planned for each batch's arrays: a generic plan made
    while the table was small would scan it (a hash join) ever after, as it grows."""
    with as_sqlalchemy_errors():
        conn.connection.driver_connection.cursor().execute(sql, params, prepare=False)


def _runs(rows: list[dict], key_columns: tuple[str, ...] | None) -> list[list[dict]]:
    """Consecutive runs in which no key repeats (all rows at once for an INSERT)."""
    if key_columns is None:
        return [rows]
    runs, seen = [[]], set()
    for row in rows:
        key = tuple(row[column] for column in key_columns)
        if key in seen:
            runs.append([])
            seen = set()
        seen.add(key)
        runs[-1].append(row)
    return runs


def _plan(statement: object, columns: tuple[str, ...], conn: Connection) -> _Plan | None:
    if not isinstance(getattr(statement, "table", None), Table):
        return None
    if isinstance(statement, Update):
        return _update_plan(statement, columns, conn.dialect)
    if isinstance(statement, Insert):
        return _insert_plan(statement, columns, conn.dialect)
    return None


def _insert_plan(statement: Insert, columns: tuple[str, ...], dialect) -> _Plan | None:  # noqa: ANN001
    if (statement._returning or statement._post_values_clause is not None
            or statement._values or statement._multi_values or statement._select_names):
        return None
    table = statement.table
    for column in table.c:  # what the rows leave out must be the database's to fill in
        if column.key not in columns and (column.default is not None
                                          or column.onupdate is not None):
            return None
    arrays, processors = [], []
    for n, name in enumerate(columns):
        column = table.c.get(name)
        array_type = _array_type(column.type) if column is not None else None
        if array_type is None:
            return None
        arrays.append(f"%(c{n})b::{array_type}")
        processors.append(column.type.bind_processor(dialect))
    prepare = dialect.identifier_preparer
    names = ", ".join(prepare.quote(name) for name in columns)
    unnamed = ", ".join(f"u{n}" for n in range(len(columns)))
    sql = (f"INSERT INTO {prepare.format_table(table)} ({names}) "
           f"SELECT {unnamed} FROM unnest({', '.join(arrays)}) "
           f"WITH ORDINALITY AS u({unnamed}, ordinal) ORDER BY ordinal")
    return _Plan(sql, tuple(processors))


def _update_plan(statement: Update, columns: tuple[str, ...], dialect) -> _Plan | None:  # noqa: ANN001
    if (statement._returning or statement._multi_values or statement.whereclause is None
            or getattr(statement, "_ordered_values", None)):
        return None
    table, preset = statement.table, dict(statement._values or {})
    where_binds = _key_binds(statement.whereclause, table)
    if where_binds is None:
        return None
    binds = {**where_binds}
    for value in preset.values():
        for name, bind in _binds(value).items():
            if name not in binds or isinstance(binds[name].type, NullType):
                binds[name] = bind
    implicit = [name for name in columns if name not in binds]  # SET column = its value
    if set(binds) - set(columns) or any(table.c.get(name) is None for name in implicit):
        return None
    types = _value_types(table, preset, binds, columns)
    array_types = [_array_type(type_) for type_ in types]
    if None in array_types:
        return None
    values = func.unnest(*[literal_column(f"__c{n}__") for n in range(len(columns))])
    u = values.table_valued(*[f"u{n}" for n in range(len(columns))]).render_derived(name="u")
    read = {name: u.c[f"u{n}"] for n, name in enumerate(columns)}

    def from_u(element):  # noqa: ANN001, ANN202
        return read[element.key] if isinstance(element, BindParameter) else None

    sets = {key: replacement_traverse(value, {}, from_u) for key, value in preset.items()}
    sets.update({table.c[name]: read[name] for name in implicit})
    rewritten = (update(table).where(replacement_traverse(statement.whereclause, {}, from_u))
                 .values(sets))
    sql = str(rewritten.compile(dialect=dialect))
    for n, array_type in enumerate(array_types):
        sql = sql.replace(f"__c{n}__", f"%(c{n})b::{array_type}", 1)
    if "__c" in sql or sql.count("%(") != len(columns):
        return None
    return _Plan(sql, tuple(t.bind_processor(dialect) for t in types), tuple(where_binds))


def _value_types(table: Table, preset: dict, binds: dict[str, BindParameter],
                 columns: tuple[str, ...]) -> list:
    """Each row value's type: its parameter's, or for `SET column = :value` and a value
    named after its column, the column's."""
    bound = {name: bind.type for name, bind in binds.items()}
    for key, value in preset.items():
        if isinstance(value, BindParameter) and isinstance(value.type, NullType):
            bound[value.key] = table.c[_name(key)].type
    return [bound[name] if name in bound else table.c[name].type for name in columns]


def _key_binds(where, table: Table) -> dict[str, BindParameter] | None:  # noqa: ANN001
    """The WHERE's parameters if it is `column = :value` AND ... over a unique key of the table
    (each row then names one row, and rows with distinct keys distinct rows); else None."""
    terms = list(where.clauses) if isinstance(where, BooleanClauseList) else [where]
    found: dict[str, BindParameter] = {}
    columns = set()
    for term in terms:
        if not (isinstance(term, BinaryExpression) and term.operator is operators.eq):
            return None
        column, value = term.left, term.right
        if isinstance(column, BindParameter):
            column, value = value, column
        if not (isinstance(value, BindParameter) and isinstance(column, Column)
                and column.table is table):
            return None
        found[value.key] = value
        columns.add(column.name)
    keys = [{c.name for c in table.primary_key}] + [
        {c.name for c in constraint.columns} for constraint in table.constraints
        if isinstance(constraint, UniqueConstraint)] + [
        {c.name for c in index.columns} for index in table.indexes if index.unique]
    return found if any(key and key <= columns for key in keys) else None


def _name(key: object) -> str:
    return key if isinstance(key, str) else key.key


def _binds(element) -> dict[str, BindParameter]:  # noqa: ANN001
    """The element's bound parameters by name; of a name used twice, the use with a type."""
    found: dict[str, BindParameter] = {}
    for e in iterate(element):
        if isinstance(e, BindParameter) and (e.key not in found
                                             or isinstance(found[e.key].type, NullType)):
            found[e.key] = e
    return found


def _array_type(type_: object) -> str | None:
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    if isinstance(base, String):
        return "text[]"
    if isinstance(base, Boolean):
        return "boolean[]"
    if isinstance(base, Integer):
        return "bigint[]"
    if isinstance(base, DateTime):
        return "timestamptz[]" if base.timezone else "timestamp[]"
    if isinstance(base, Date):
        return "date[]"
    return None
