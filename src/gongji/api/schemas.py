"""Request bodies. Money stays raw here: the domain parses it exactly (see money.to_fen)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from gongji.domain.codes import (
    ADMDVS,
    STORED_ACCOUNT_STATUSES,
    InstitutionType,
    InsuStatus,
    InsuType,
    values,
)
from gongji.domain.text import check_printable

Money = Annotated[Any, WithJsonSchema({"anyOf": [{"type": "number"}, {"type": "string"}],
                                       "description": "元，最多两位小数"})]
Certno = Annotated[str, Field(min_length=1, max_length=32)]
Region = Annotated[str, Field(pattern=ADMDVS.pattern)]
# The codes' plain strings, as Literal types (tests/unit/test_codes.py holds them to the enums).
InsuTypeCode = Literal[values(InsuType)]
InsuStatusCode = Literal[values(InsuStatus)]
StoredAccountStatus = Literal[values(STORED_ACCOUNT_STATUSES)]
InstitutionTypeCode = Literal[values(InstitutionType)]



def printable(field: str) -> AfterValidator:
    """Stored text: refused (INVALID_INPUT) if it holds a control, zero-width or
    bidirectional character (domain/text.py), on every database alike."""
    return AfterValidator(lambda value: check_printable(value, field))


Name = Annotated[str, Field(min_length=1, max_length=50), printable("姓名")]
Note = Annotated[str, Field(max_length=200), printable("备注")]
RelationName = Literal["spouse", "parent", "child", "sibling", "grandparent", "grandchild"]


class Body(BaseModel):
    model_config = ConfigDict(extra="ignore")

    def data(self) -> dict:
        return self.model_dump(exclude_unset=True)


class TokenIn(Body):
    role: Literal["person", "institution", "clerk"]
    subject: Annotated[str, Field(min_length=1, max_length=40), printable("subject")]
    ttl_s: int = Field(default=3600, ge=1, le=30 * 24 * 3600)
    admdvs: Region | None = None


class PersonIn(Body):
    certno: Certno
    psn_name: Name
    insutype: InsuTypeCode
    insuplc_admdvs: Region
    psn_insu_stas: InsuStatusCode = InsuStatus.INSURED.value
    card_no: str | None = Field(default=None, min_length=1, max_length=32)


class PersonPatch(Body):
    psn_insu_stas: InsuStatusCode | None = None
    insuplc_admdvs: Region | None = None
    account_status: StoredAccountStatus | None = None

    def data(self) -> dict:
        return {k: v for k, v in self.model_dump(exclude_unset=True).items() if v is not None}


class KinshipIn(Body):
    certno: Certno
    relative_certno: Certno
    relation: RelationName


class InstitutionIn(Body):
    fixmedins_code: Annotated[str, Field(min_length=1, max_length=30),
                              printable("定点医药机构编码")]
    fixmedins_name: Annotated[str, Field(min_length=1, max_length=200), printable("机构名称")]
    fixmedins_type: InstitutionTypeCode
    admdvs: Region


class CreditIn(Body):
    amount: Money
    ref: Annotated[str, Field(min_length=1, max_length=64), printable("ref")]


class HallBindingIn(Body):
    helper_certno: Certno
    beneficiary_certno: Certno
    relation: RelationName
    documents_checked: bool
    note: Note | None = None


RowId = Annotated[int, Field(ge=1, le=2**63 - 1)]
Channel = Annotated[str, Field(min_length=1, max_length=16)]


class InvitationIn(Body):
    beneficiary_certno: Certno
    beneficiary_name: Name
    relation: RelationName
    channel: Channel


class ChannelIn(Body):
    """Optional body of a person's binding action: the channel it is made through."""

    channel: Channel | None = None


class OrderIn(ChannelIn):
    binding_ids: list[RowId] = Field(max_length=100)


class UnbindIn(ChannelIn):
    """A clerk unbinding at the hall must confirm both parties' documents were checked."""

    documents_checked: bool | None = None
    note: Note | None = None


class PremiumIn(Body):
    beneficiary_certno: Certno
    year: int = Field(ge=2000, le=2100)


class QuotaIn(ChannelIn):
    """共济额度: yuan ≥ 0, parsed exactly by the domain (money.to_fen)."""

    quota: Money
