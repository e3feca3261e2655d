"""Operator: tokens and reference data (persons, kinships, institutions, credits)."""

from __future__ import annotations

from fastapi import APIRouter, Request

from gongji.api.auth import Operator, issue_token
from gongji.api.deps import Ctx
from gongji.api.exactjson import ExactJSONRoute
from gongji.api.schemas import CreditIn, InstitutionIn, KinshipIn, PersonIn, PersonPatch, TokenIn
from gongji.services.clock import iso
from gongji.services.registry import reference, tokens

router = APIRouter(prefix="/api/v1", tags=["operator"], route_class=ExactJSONRoute)


@router.post("/tokens", status_code=201)
def create_token(body: TokenIn, caller: Operator, ctx: Ctx, request: Request) -> dict:
    """Issue a signed, expiring token for a person, an institution or a clerk."""
    _check_subject(ctx, body)
    token, expires_at = issue_token(request.app.state.settings.signing_key, body.role,
                                    body.subject, body.ttl_s, ctx.now(), body.admdvs)
    return {"token": token, "role": body.role, "subject": body.subject,
            "expires_at": iso(expires_at)}


def _check_subject(ctx: Ctx, body: TokenIn) -> None:
    tokens.check_subject(ctx, body.role, body.subject, body.admdvs)


@router.post("/persons", status_code=201)
def create_person(body: PersonIn, caller: Operator, ctx: Ctx) -> dict:
    return reference.create_person(ctx, body.data())


@router.get("/persons/{psn_no}")
def get_person(psn_no: str, caller: Operator, ctx: Ctx) -> dict:
    return reference.get_person(ctx, psn_no)


@router.patch("/persons/{psn_no}")
def patch_person(psn_no: str, body: PersonPatch, caller: Operator, ctx: Ctx) -> dict:
    return reference.patch_person(ctx, psn_no, body.data())


@router.post("/kinships", status_code=201)
def add_kinship(body: KinshipIn, caller: Operator, ctx: Ctx) -> dict:
    return reference.add_kinship(ctx, body.data())


@router.post("/institutions", status_code=201)
def create_institution(body: InstitutionIn, caller: Operator, ctx: Ctx) -> dict:
    return reference.create_institution(ctx, body.data())


@router.post("/accounts/{psn_no}/credits", status_code=201)
def credit(psn_no: str, body: CreditIn, caller: Operator, ctx: Ctx) -> dict:
    """个人账户划入, exactly once per ref."""
    return reference.credit_account(ctx, psn_no, body.data())
