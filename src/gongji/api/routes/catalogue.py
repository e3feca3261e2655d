"""医保目录 over REST: the operator loads it; the operator or an institution looks a code up."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, WithJsonSchema

from gongji.api.auth import Operator, Principal, require
from gongji.api.deps import Ctx
from gongji.api.exactjson import ExactJSONRoute
from gongji.domain.catalogue_entry import EntryError, catalogue_region
from gongji.domain.errors import refuse
from gongji.services.catalogue import loading, lookup
from gongji.store import repo

router = APIRouter(prefix="/api/v1", tags=["catalogue"], route_class=ExactJSONRoute)
Reader = Annotated[Principal, Depends(require("operator", "institution"))]

# Items stay raw here: the domain checks each one and names the first bad field by index.
# The 5,000 bound is said in words, not as maxItems: a body that long is refused by its
# size first (413), which a schema's maxItems would not lead a client to expect.
Items = Annotated[Any, WithJsonSchema({
    "type": "array", "description": f"1–{loading.MAX_ITEMS} 条",
    "items": {"type": "object", "description":
              "admdvs, med_list_codg, med_list_name, chrgitm_lv 01|02|03, selfpay_prop "
              "（0–1 的小数字符串）, pric_uplmt_amt（元，可为 null）, begndate, enddate"}})]


class CatalogueIn(BaseModel):
    model_config = ConfigDict(extra="ignore")
    items: Items


@router.post("/catalogue")
def load_catalogue(body: CatalogueIn, caller: Operator, ctx: Ctx) -> dict:
    """装入医保目录：按（医保区划, 医保目录编码）新增或更新；任一条目不合法则整批不写入。"""
    return loading.load_items(ctx, body.items)


@router.get("/catalogue/items")
def catalogue_items(caller: Reader, ctx: Ctx,
                    admdvs: Annotated[str | None, Query(max_length=6)] = None,
                    codg: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
                    q: Annotated[str | None, Query(min_length=1, max_length=50)] = None,
                    ) -> dict:
    """查询目录：codg 给出该统筹区当日适用的条目（统筹区的优先于全省的）；q 按编码或名称
    前缀检索，最多 20 条。机构只能查询本机构所在统筹区。"""
    region = _region_for(ctx, caller, admdvs)
    if codg is not None:
        return lookup.effective_item(ctx, region, codg)
    if q is not None:
        return lookup.search(ctx, region, q)
    raise refuse("INVALID_INPUT", "须给出 codg（目录编码）或 q（检索内容）")


def _region_for(ctx: Ctx, caller: Principal, admdvs: str | None) -> str:
    if caller.role == "institution":
        with ctx.read() as uow:
            own = repo.institution_by_code(uow.conn, caller.subject)
        if own is None:
            raise refuse("INSTITUTION_NOT_FOUND")
        if admdvs not in (None, own.admdvs):
            raise refuse("FORBIDDEN", "机构只能查询本机构所在统筹区的目录")
        return own.admdvs
    if admdvs is None:
        raise refuse("INVALID_INPUT", "须给出 admdvs（医保区划）")
    try:
        return catalogue_region(admdvs)
    except EntryError as error:
        raise refuse("INVALID_REGION", error.why) from None
