"""Notices: a helper always learns of every draw on, and refund to, their account."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, Row, insert

from gongji.domain.idcard import mask_name
from gongji.domain.kinship import RELATION_ZH, Relation
from gongji.domain.money import yuan_text
from gongji.services.clock import local
from gongji.store.schema import notices

if TYPE_CHECKING:
    from gongji.services.settlement import Decision


def _when(now: datetime) -> str:
    return local(now).strftime("%Y年%m月%d日 %H:%M")


def _relative(relation: str, name: str) -> str:
    return f"您的{RELATION_ZH[Relation(relation)]} {mask_name(name)}"


def for_settlement(conn: Connection, patient: Row, inst: Row, decision: Decision,
                   settlement_id: int, now: datetime) -> None:
    rows = []
    for binding_id, amount_fen in decision.allocation.helpers:
        helper = decision.helpers[binding_id]
        text = (f"{_relative(helper.relation, patient.psn_name)} 于 {_when(now)} 在 "
                f"{inst.fixmedins_name} 使用共济资金 {yuan_text(amount_fen)} 元")
        rows.append({"person_id": helper.helper_id, "kind": "settlement", "text": text,
                     "amount_fen": -amount_fen, "at": now, "settlement_id": settlement_id})
    if rows:
        conn.execute(insert(notices), rows)


def for_reversal(conn: Connection, patient: Row, inst: Row, parts: list[Row],
                 settlement_id: int, now: datetime) -> None:
    rows = [{"person_id": part.helper_id, "kind": "reversal",
             "text": (f"{_relative(part.relation, patient.psn_name)} 在 {inst.fixmedins_name} "
                      f"的结算已于 {_when(now)} 撤销，退回共济资金 {yuan_text(part.amount_fen)} 元"),
             "amount_fen": part.amount_fen, "at": now, "settlement_id": settlement_id}
            for part in parts]
    if rows:
        conn.execute(insert(notices), rows)
