"""5203 结算信息查询: one of this institution's own settlements, as it was settled, and
whether it has been reversed since. Another institution's settlement is not revealed."""

from __future__ import annotations

from sqlalchemy import Connection, select

from gongji.domain.errors import refuse
from gongji.domain.idcard import mask_name
from gongji.domain.money import to_yuan
from gongji.domain.visit import SettlementRef
from gongji.services.settlement.output import stored_settlement_output
from gongji.store import repo
from gongji.store.schema import persons, settlement_mulaid, settlements

_SETTLEMENT = (select(settlements, persons.c.psn_no, persons.c.psn_name)
               .select_from(settlements.join(persons, persons.c.id == settlements.c.person_id)))
_HELPERS = (select(settlement_mulaid.c.relation, settlement_mulaid.c.amount_fen,
                   persons.c.psn_no, persons.c.psn_name)
            .select_from(settlement_mulaid.join(persons,
                                                persons.c.id == settlement_mulaid.c.helper_id))
            .order_by(settlement_mulaid.c.seq))


def settlement_info(conn: Connection, inst_code: str, ref: SettlementRef) -> dict:
    inst = repo.institution_by_code(conn, inst_code)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    row = conn.execute(_SETTLEMENT.where(settlements.c.setl_id == ref.setl_id,
                                         settlements.c.institution_id == inst.id)).first()
    if (row is None or row.psn_no != ref.psn_no
            or (ref.mdtrt_id is not None and row.mdtrt_id != ref.mdtrt_id)):
        raise refuse("SETTLEMENT_NOT_FOUND")
    helpers = [{"helper_psn_no": h.psn_no, "helper_name": mask_name(h.psn_name),
                "relation": h.relation, "amount": to_yuan(h.amount_fen)}
               for h in conn.execute(_HELPERS.where(settlement_mulaid.c.settlement_id == row.id))]
    return stored_settlement_output(row, row.psn_name, helpers)
