"""How a batch's queued writes are merged into few statements (store/writebehind._grouped):
never reordering one command's writes, nor the rows of one statement across commands."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from gongji.store.writebehind import _grouped

STATEMENTS = [object() for _ in range(4)]  # stand-ins: only their identity matters

commands = st.lists(st.lists(st.tuples(st.integers(0, 3), st.booleans()), max_size=6),
                    max_size=8)


def _queued(spec: list[list[tuple[int, bool]]]) -> list[list]:
    """Each write's row says which command wrote it and in which turn; a second shape of
    row (an extra column) for some writes."""
    out = []
    for c, writes in enumerate(spec):
        out.append([(STATEMENTS[s], {"cmd": c, "turn": t} | ({"x": 1} if other else {}))
                    for t, (s, other) in enumerate(writes)])
    return out


def _sent(grouped: list) -> list[tuple[object, dict]]:
    """The rows in the order the database applies them."""
    rows = []
    for statement, params in grouped:
        for row in params if isinstance(params, list) else [params]:
            rows.append((statement, row))
    return rows


@given(commands)
def test_every_write_is_sent_once(spec):
    queued = _queued(spec)
    sent = _sent(_grouped(queued))
    assert sorted((STATEMENTS.index(s), r["cmd"], r["turn"]) for s, r in sent) == sorted(
        (STATEMENTS.index(s), r["cmd"], r["turn"]) for c in queued for s, r in c)


@given(commands)
def test_a_commands_writes_keep_their_order(spec):
    sent = _sent(_grouped(_queued(spec)))
    for c in range(len(spec)):
        turns = [r["turn"] for _, r in sent if r["cmd"] == c]
        assert turns == sorted(turns)


@given(commands)
def test_the_rows_of_one_statement_keep_the_commands_order(spec):
    sent = _sent(_grouped(_queued(spec)))
    for statement in STATEMENTS:
        order = [(r["cmd"], r["turn"]) for s, r in sent if s is statement]
        assert order == sorted(order)


def test_commands_that_queue_alike_share_one_statement_per_kind():
    spec = [[(0, False), (1, False), (2, False)]] * 5
    grouped = _grouped(_queued(spec))
    assert [len(params) for _, params in grouped] == [5, 5, 5]
