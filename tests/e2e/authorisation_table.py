"""Every endpoint of the app, with the status each role gets and a call to make as that role.

One row per (method, route template). `expect` holds one status per role of
security_world.ROLES: none, person as owner, other person, institution, clerk of the
owner's region, clerk of another region, operator. `call(world)` is run once per role and
may make fresh resources, so a call that succeeds for one role does not spoil the next.
`shows`/`shown_to`: whose full ID number and name the endpoint may show, and to which
roles (the privacy scan allows exactly these, besides a person's own).
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date

from fastapi import routing
from starlette.routing import Mount

from gongji.domain.idcard import make_certno
from gongji.services.clock import local_date
from quota_support import enable_quotas
from security_world import SecurityWorld

_new_seq = itertools.count()


@dataclass(frozen=True)
class Call:
    url: str
    body: object = None
    owner: dict | None = None  # the person the call is about: "person as owner"
    shows: tuple[dict, ...] = ()


@dataclass(frozen=True)
class Row:
    method: str
    route: str
    expect: tuple[int, ...]
    call: Callable[[SecurityWorld], Call]
    shown_to: frozenset[str] = field(default_factory=frozenset)

    @property
    def id(self) -> str:
        return f"{self.method} {self.route}"


def public(ok: int = 200) -> tuple[int, ...]:
    return (ok,) * 7


def operator_only(ok: int) -> tuple[int, ...]:
    return (401, 403, 403, 403, 403, 403, ok)


def own_data(ok: int = 200) -> tuple[int, ...]:
    """Any person reads or makes their own; the other person gets their own too."""
    return (401, ok, ok, 403, 403, 403, 403)


def institution_only(ok: int = 200) -> tuple[int, ...]:
    return (401, 403, 403, ok, 403, 403, 403)


def clerk_of_region(ok: int = 200) -> tuple[int, ...]:
    """A clerk of another region is answered as for an ID number nobody holds (404)."""
    return (401, 403, 403, 403, ok, 404, 403)


def fixed(url: str) -> Callable[[SecurityWorld], Call]:
    return lambda w: Call(url, owner=w.mother)


def _fresh_person(w: SecurityWorld) -> Call:
    person = w.person()
    return Call(f"/api/v1/persons/{person['psn_no']}", owner=person, shows=(person,))


def _patch_person(w: SecurityWorld) -> Call:
    fresh = _fresh_person(w)
    return Call(fresh.url, {"psn_insu_stas": "1"}, fresh.owner, fresh.shows)


def _new_person(w: SecurityWorld) -> Call:
    certno = make_certno("542521", date(1951, 5, 5), next(_new_seq))  # nobody's birthday
    body = {"certno": certno, "psn_name": "上官新", "insutype": "390",
            "insuplc_admdvs": "542500", "psn_insu_stas": "1"}
    return Call("/api/v1/persons", body, owner=w.mother)


def _kinship(w: SecurityWorld) -> Call:
    a, b = w.person(), w.person()
    return Call("/api/v1/kinships", {"certno": a["certno"], "relative_certno": b["certno"],
                                     "relation": "sibling"}, owner=a, shows=(a, b))


def _credit_reversal(w: SecurityWorld) -> Call:
    person = w.person()
    return Call(f"/api/v1/credits/{w.credit(person, '10.00')}/reverse", owner=person)


def _invite(w: SecurityWorld) -> Call:
    fam = w.family(bound=False)
    return Call("/api/v1/invitations", {
        "beneficiary_certno": fam.beneficiary["certno"],
        "beneficiary_name": fam.beneficiary["psn_name"], "relation": fam.relation,
        "channel": "national_app"}, owner=fam.helper)


def _answer(action: str) -> Callable[[SecurityWorld], Call]:
    def make(w: SecurityWorld) -> Call:
        fam = w.invitation()
        owner = fam.helper if action == "withdraw" else fam.beneficiary
        return Call(f"/api/v1/invitations/{fam.invitation_id}/{action}", owner=owner)

    return make


def _unbind(w: SecurityWorld) -> Call:
    fam = w.family()
    return Call(f"/api/v1/bindings/{fam.binding_id}", {"documents_checked": True},
                owner=fam.helper)


def _set_quota(w: SecurityWorld) -> Call:
    """共济额度 by the helper: Ali switches it on by a published version (shipped off)."""
    enable_quotas(w.ctx, "542500")
    fam = w.family()
    return Call(f"/api/v1/bindings/{fam.binding_id}/quota", {"quota": "100.00"},
                owner=fam.helper)


def _hall_bind(w: SecurityWorld) -> Call:
    fam = w.family(bound=False)
    return Call("/api/v1/bindings", {"helper_certno": fam.helper["certno"],
                                     "beneficiary_certno": fam.beneficiary["certno"],
                                     "relation": fam.relation, "documents_checked": True},
                owner=fam.helper)


def _pay_premium(w: SecurityWorld) -> Call:
    fam = w.family()
    return Call("/api/v1/premiums", {"beneficiary_certno": fam.beneficiary["certno"],
                                     "year": 2025}, owner=fam.helper)


def _latest_notice(w: SecurityWorld) -> Call:
    notices = w.client.get("/api/v1/notices", headers=w.headers("owner", w.mother)).json()
    return Call(f"/api/v1/notices/{notices['notices'][0]['notice_id']}/read", owner=w.mother)


def _gateway_1101(w: SecurityWorld) -> Call:
    return Call("/fsi/api/rsfComIfsService/callService", w.envelope("1101", {
        "mdtrt_cert_type": "02", "mdtrt_cert_no": w.mother["certno"]}), owner=w.mother,
        shows=(w.mother,))


def _hall(suffix: str) -> Callable[[SecurityWorld], Call]:
    def make(w: SecurityWorld) -> Call:
        return Call(f"/api/v1/hall/persons/{w.mother['certno']}{suffix}", owner=w.mother,
                    shows=(w.mother,) if not suffix else ())

    return make


OPERATOR_SEES = frozenset({"operator"})  # reference data: the operator loaded it in full

_CATALOGUE_ITEM = {"admdvs": "540000", "med_list_codg": "XSEC0001", "med_list_name": "阿莫西林胶囊",
                   "chrgitm_lv": "01"}


def _catalogue_item(w: SecurityWorld) -> Call:
    """The province's item, looked up for the institutions' region (542500)."""
    from gongji.services.catalogue.loading import load_items

    load_items(w.ctx, [_CATALOGUE_ITEM])
    return Call("/api/v1/catalogue/items?admdvs=542500&codg=XSEC0001")


ROWS: tuple[Row, ...] = (
    # public: health, metrics, documentation, pages and their assets
    Row("GET", "/healthz", public(), fixed("/healthz")),
    Row("GET", "/metrics", public(), fixed("/metrics")),
    Row("GET", "/openapi.json", public(), fixed("/openapi.json")),
    Row("GET", "/docs", public(), fixed("/docs")),
    Row("GET", "/docs/oauth2-redirect", public(), fixed("/docs/oauth2-redirect")),
    Row("GET", "/docs-static", public(), fixed("/docs-static/swagger-ui.css")),
    Row("GET", "/favicon.ico", public(), fixed("/favicon.ico")),
    Row("GET", "/redoc", public(), fixed("/redoc")),
    Row("GET", "/", public(), fixed("/")),
    Row("GET", "/portal", public(), fixed("/portal")),
    Row("GET", "/hall", public(), fixed("/hall")),
    Row("GET", "/counter", public(), fixed("/counter")),
    Row("GET", "/inpatient", public(), fixed("/inpatient")),
    Row("GET", "/static", public(), fixed("/static/app.css")),
    Row("GET", "/web/qr.svg", public(), fixed("/web/qr.svg?data=gongji")),
    Row("GET", "/web/demo/identities", public(404), fixed("/web/demo/identities")),
    Row("GET", "/web/institution", institution_only(), fixed("/web/institution")),
    Row("GET", "/web/clerk", (401, 403, 403, 403, 200, 200, 403), fixed("/web/clerk")),
    # issue 17: the reports page and its JSON (a clerk's own region: another region's
    # clerk reads their own), and OIDC sign-in, not configured in this world
    Row("GET", "/reports", public(), fixed("/reports")),
    Row("GET", "/web/person", own_data(), fixed("/web/person")),
    Row("GET", "/web/report", (401, 403, 403, 403, 200, 200, 403),
        fixed("/web/report?month=2025-06")),
    Row("GET", "/web/oidc/{page}/start", public(404), fixed("/web/oidc/portal/start")),
    Row("GET", "/web/oidc/{page}/callback", public(404),
        fixed("/web/oidc/portal/callback?code=c&state=s")),
    # operator: tokens and reference data
    Row("POST", "/api/v1/tokens", operator_only(201),
        lambda w: Call("/api/v1/tokens", {"role": "person", "subject": w.mother["psn_no"],
                                          "ttl_s": 60}, owner=w.mother)),
    Row("POST", "/api/v1/persons", operator_only(201), _new_person, OPERATOR_SEES),
    Row("GET", "/api/v1/persons/{psn_no}", operator_only(200), _fresh_person, OPERATOR_SEES),
    Row("PATCH", "/api/v1/persons/{psn_no}", operator_only(200),
        _patch_person, OPERATOR_SEES),
    Row("POST", "/api/v1/kinships", operator_only(201), _kinship, OPERATOR_SEES),
    Row("POST", "/api/v1/institutions", operator_only(201),
        lambda w: Call("/api/v1/institutions", {
            "fixmedins_code": f"H{uuid.uuid4().hex[:10]}", "fixmedins_name": "新医院",
            "fixmedins_type": "hospital", "admdvs": "542500"})),
    Row("POST", "/api/v1/accounts/{psn_no}/credits", operator_only(201),
        lambda w: Call(f"/api/v1/accounts/{w.mother['psn_no']}/credits",
                       {"amount": "1.00", "ref": f"m-{uuid.uuid4().hex[:12]}"}, w.mother)),
    Row("POST", "/api/v1/credits/{ref}/reverse", operator_only(200), _credit_reversal),
    Row("GET", "/api/v1/persons/{psn_no}/audit", operator_only(200),
        lambda w: Call(f"/api/v1/persons/{w.child['psn_no']}/audit", owner=w.child)),
    Row("POST", "/api/v1/premiums/{premium_id}/reverse", operator_only(200),
        lambda w: Call(f"/api/v1/premiums/{w.premium()}/reverse")),
    # region policies as dated versions
    Row("GET", "/api/v1/policies/{admdvs}", operator_only(200), fixed("/api/v1/policies/542500")),
    Row("GET", "/api/v1/policies/{admdvs}/versions", operator_only(200),
        fixed("/api/v1/policies/542500/versions")),
    Row("POST", "/api/v1/policies/{admdvs}/versions", operator_only(201),
        lambda w: Call("/api/v1/policies/542500/versions", {
            "effective_from": local_date(w.clock()).isoformat(),
            "rules": {"invitation_expiry_days": 7}})),
    # a person's own data
    Row("GET", "/api/v1/account", own_data(), fixed("/api/v1/account")),
    Row("GET", "/api/v1/bindings", own_data(), fixed("/api/v1/bindings")),
    Row("GET", "/api/v1/invitations", own_data(),
        lambda w: Call("/api/v1/invitations", owner=w.child)),
    Row("GET", "/api/v1/account/entries", own_data(), fixed("/api/v1/account/entries")),
    Row("GET", "/api/v1/account/entries.csv", own_data(), fixed("/api/v1/account/entries.csv")),
    Row("GET", "/api/v1/account/entries.xlsx", own_data(),
        fixed("/api/v1/account/entries.xlsx")),
    Row("GET", "/api/v1/settlements", own_data(),
        lambda w: Call("/api/v1/settlements", owner=w.child)),
    Row("GET", "/api/v1/notices", own_data(), fixed("/api/v1/notices")),
    Row("POST", "/api/v1/evoucher", own_data(201), fixed("/api/v1/evoucher")),
    Row("GET", "/api/v1/premiums", own_data(), fixed("/api/v1/premiums")),
    # a person's resources: another person is told they do not exist (or is refused by rule)
    Row("POST", "/api/v1/invitations", (401, 201, 422, 403, 403, 403, 403), _invite),
    Row("POST", "/api/v1/invitations/{invitation_id}/accept",
        (401, 200, 404, 403, 403, 403, 403), _answer("accept")),
    Row("POST", "/api/v1/invitations/{invitation_id}/decline",
        (401, 200, 404, 403, 403, 403, 403), _answer("decline")),
    Row("POST", "/api/v1/invitations/{invitation_id}/withdraw",
        (401, 200, 404, 403, 403, 403, 403), _answer("withdraw")),
    Row("PUT", "/api/v1/deduction-order", (401, 200, 422, 403, 403, 403, 403),
        lambda w: Call("/api/v1/deduction-order", {"binding_ids": w.child_bindings[::-1]},
                       owner=w.child)),
    Row("GET", "/api/v1/bindings/{binding_id}", (401, 200, 404, 403, 200, 404, 403),
        lambda w: Call(f"/api/v1/bindings/{w.granny_binding}", owner=w.mother)),
    Row("DELETE", "/api/v1/bindings/{binding_id}", (401, 200, 404, 403, 200, 404, 403),
        _unbind),
    Row("PUT", "/api/v1/bindings/{binding_id}/quota", (401, 200, 404, 403, 403, 403, 403),
        _set_quota),
    Row("POST", "/api/v1/notices/{notice_id}/read", (401, 200, 404, 403, 403, 403, 403),
        _latest_notice),
    Row("POST", "/api/v1/premiums", (401, 201, 422, 403, 403, 403, 403), _pay_premium),
    # the service hall
    Row("POST", "/api/v1/bindings", clerk_of_region(201), _hall_bind),
    Row("GET", "/api/v1/hall/persons/{certno}", clerk_of_region(), _hall(""),
        frozenset({"clerk"})),
    Row("GET", "/api/v1/hall/persons/{certno}/account", clerk_of_region(), _hall("/account")),
    Row("GET", "/api/v1/hall/persons/{certno}/entries", clerk_of_region(), _hall("/entries")),
    Row("GET", "/api/v1/hall/persons/{certno}/bindings", clerk_of_region(),
        _hall("/bindings")),
    # institutions
    Row("POST", "/fsi/api/rsfComIfsService/callService", institution_only(), _gateway_1101,
        frozenset({"institution"})),
    Row("GET", "/api/v1/institution/daily-totals", institution_only(),
        fixed("/api/v1/institution/daily-totals?from=2025-06-01&to=2025-06-01")),
    Row("GET", "/api/v1/institution/settlements", institution_only(),
        fixed("/api/v1/institution/settlements?date=2025-06-01")),
    # 医保目录: the operator loads it; the operator or an institution looks it up
    Row("POST", "/api/v1/catalogue", operator_only(200),
        lambda w: Call("/api/v1/catalogue", {"items": [_CATALOGUE_ITEM]})),
    Row("GET", "/api/v1/catalogue/items", (401, 403, 403, 200, 403, 403, 200), _catalogue_item),
)


def served_endpoints(app) -> set[tuple[str, str]]:  # noqa: ANN001
    """(method, route template) of every route the app serves; a mount counts as GET.
    HEAD is left out: Starlette answers it for every GET route by itself."""
    found = set()
    for context in routing.iter_route_contexts(app.routes):
        route = context.original_route
        if isinstance(route, Mount):
            found.add(("GET", route.path))
            continue
        for method in context.methods or ():
            if method != "HEAD":
                found.add((method, context.path))
    return found
