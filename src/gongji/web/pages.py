"""Routes for the pages, their static files, QR codes and demo sign-in."""

from __future__ import annotations

import io
from pathlib import Path

import segno
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from gongji.api.auth import Clerk, Institution, Person, issue_token
from gongji.api.deps import Ctx
from gongji.domain.errors import CATALOGUE, refuse
from gongji.services.clock import iso
from gongji.services.operations.demo import identities
from gongji.store import repo
from gongji.web import oidc, reports

HERE = Path(__file__).parent
templates = Jinja2Templates(directory=HERE / "templates")
router = APIRouter(include_in_schema=False)
router.include_router(oidc.router)
router.include_router(reports.router)
static = StaticFiles(directory=HERE / "static")

PAGES = {"": "index.html", "portal": "portal.html", "hall": "hall.html", "counter": "counter.html",
         "inpatient": "inpatient.html", "reports": "reports.html"}


def _page(name: str):  # noqa: ANN202
    def render(request: Request) -> HTMLResponse:
        settings = request.app.state.settings
        # The server's time, for the pages' "now" (static/beijing.js): entries are stamped by
        # this clock, so the chart's current month must come from it, not from the device.
        now = iso(request.app.state.ctx.now())
        return templates.TemplateResponse(request, PAGES[name], {
            "demo": settings.demo, "page": name, "now": now,
            "oidc": settings.oidc_enabled and name in oidc.SIGN_IN_PAGES,
            "channel": settings.portal_channel,
            "signin_error": _signin_error(request.query_params.get("signin_error"))})

    return render


def _signin_error(code: str | None) -> str | None:
    """A refused identity-service sign-in comes back as its code (web/oidc.py); the page says
    the catalogue's message, never text from the address bar."""
    if code is None:
        return None
    return CATALOGUE.get(code, CATALOGUE["OIDC_FAILED"])[1].replace("：{detail}", "")


for _name in PAGES:
    router.add_api_route(f"/{_name}", _page(_name), methods=["GET"], response_class=HTMLResponse)


@router.get("/web/qr.svg")
def qr_svg(data: str = Query(min_length=1, max_length=200)) -> Response:
    """A QR code of `data` as SVG, drawn here so no script or font comes from elsewhere."""
    buffer = io.BytesIO()
    segno.make(data, error="m").save(buffer, kind="svg", scale=6, border=2,
                                     title="医保电子凭证二维码")
    return Response(buffer.getvalue(), media_type="image/svg+xml",
                    headers={"Cache-Control": "no-store"})


@router.get("/web/institution")
def my_institution(caller: Institution, ctx: Ctx) -> dict:
    """The signed-in institution's name and type, so the counter uses the right codes."""
    with ctx.read() as uow:
        inst = repo.institution_by_code(uow.conn, caller.subject)
    if inst is None:
        raise refuse("INSTITUTION_NOT_FOUND")
    return {"fixmedins_code": inst.fixmedins_code, "fixmedins_name": inst.fixmedins_name,
            "fixmedins_type": inst.fixmedins_type, "admdvs": inst.admdvs}


@router.get("/web/person")
def my_person(caller: Person, ctx: Ctx) -> dict:
    """The signed-in person's own name, for the portal's heading (whatever the sign-in)."""
    with ctx.read() as uow:
        person = repo.known_person(uow.conn, caller.subject)
    return {"psn_no": person.psn_no, "psn_name": person.psn_name}


@router.get("/web/clerk")
def my_clerk(caller: Clerk) -> dict:
    """The signed-in clerk and their region."""
    return {"clerk_id": caller.subject, "admdvs": caller.admdvs}


@router.get("/web/demo/identities")
def demo_identities(request: Request, ctx: Ctx) -> dict:
    """Demo mode only: the demo people, institutions and clerks, each with a fresh token."""
    settings = request.app.state.settings
    if not settings.demo:
        raise refuse("NOT_FOUND")
    key, now = settings.signing_key, ctx.now()

    def token(role: str, subject: str, admdvs: str | None = None) -> str:
        return issue_token(key, role, subject, 8 * 3600, now, admdvs)[0]

    found = identities(ctx)
    return {
        "persons": [p | {"token": token("person", p["psn_no"])} for p in found["persons"]],
        "institutions": [i | {"token": token("institution", i["fixmedins_code"])}
                         for i in found["institutions"]],
        "clerks": [c | {"token": token("clerk", c["clerk_id"], c["admdvs"])}
                   for c in found["clerks"]],
    }
