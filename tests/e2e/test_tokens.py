"""Tokens are signed (HS256 with the server's key), expire by the service clock, and are
refused once expired, tampered with, unsigned ("alg": "none"), signed with another key or
algorithm, or carrying claims of the wrong kind. The operator exists only as the
configured admin token; no signed token can become one."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

import jwt
import pytest
from fastapi.testclient import TestClient

from gongji.api.auth import decode_token
from gongji.app import create_app
from gongji.domain.errors import DomainError
from gongji.services.clock import utc_now
from gongji.settings import Settings
from security_world import ADMIN


@pytest.fixture
def w(sqlite_world):
    """The module's world, with its clock put back after each test."""
    start = sqlite_world.clock.now
    yield sqlite_world
    sqlite_world.clock.now = start


def account(w, token: str):  # noqa: ANN001, ANN201
    return w.client.get("/api/v1/account", headers={"Authorization": f"Bearer {token}"})


def issued(w, role: str = "person", subject: str | None = None, **extra) -> str:  # noqa: ANN001
    body = {"role": role, "subject": subject or w.mother["psn_no"], "ttl_s": 600} | extra
    response = w.client.post("/api/v1/tokens", json=body,
                             headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 201, response.text
    return response.json()["token"]


def segment(data: dict) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def claims_of(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def refused(response, code: str = "UNAUTHENTICATED") -> None:  # noqa: ANN001
    assert response.status_code == 401, response.text
    assert response.json()["code"] == code


def test_a_token_is_an_hs256_jwt_signed_with_the_servers_key(w):
    token = issued(w)

    header = jwt.get_unverified_header(token)
    claims = jwt.decode(token, w.app.state.settings.signing_key, algorithms=["HS256"],
                        options={"verify_exp": False})
    assert header["alg"] == "HS256"
    assert (claims["role"], claims["sub"]) == ("person", w.mother["psn_no"])
    assert claims["exp"] - claims["iat"] == 600
    assert claims["iat"] == int(w.clock.now.timestamp())  # the service clock's time
    assert account(w, token).status_code == 200


def test_a_token_issued_when_the_service_clock_is_ahead_of_the_machines_is_accepted(w):
    w.clock.now = utc_now() + timedelta(days=400)  # a service clock far ahead of the wall's
    token = issued(w)

    assert account(w, token).status_code == 200


def test_a_token_issued_in_the_service_clocks_future_is_refused(w):
    key = w.app.state.settings.signing_key
    now = int(w.clock.now.timestamp())
    token = jwt.encode({"role": "person", "sub": w.mother["psn_no"], "iat": now + 3600,
                        "exp": now + 7200}, key, algorithm="HS256")

    refused(account(w, token))


def test_a_token_is_refused_from_its_expiry_on_by_the_service_clock(w):
    token = issued(w, ttl_s=60)

    w.clock.advance(seconds=59)
    assert account(w, token).status_code == 200
    w.clock.advance(seconds=1)
    refused(account(w, token), "TOKEN_EXPIRED")


def test_expiry_is_judged_by_the_service_clock_not_the_wall_clock(w):
    # The service clock stands in 2025; the wall clock is later: the token is long past
    # its expiry by the wall, and still good by the service.
    token = issued(w, ttl_s=3600)
    assert claims_of(token)["exp"] < utc_now().timestamp()
    assert account(w, token).status_code == 200
    w.clock.advance(hours=2)
    refused(account(w, token), "TOKEN_EXPIRED")


def test_a_token_with_a_changed_payload_is_refused(w):
    token = issued(w)
    header, _, signature = token.split(".")
    for change in ({"sub": w.father["psn_no"]}, {"role": "clerk", "admdvs": "542500"},
                   {"exp": claims_of(token)["exp"] + 86400}):
        forged = f"{header}.{segment(claims_of(token) | change)}.{signature}"
        refused(account(w, forged))


def test_a_token_with_a_changed_signature_or_header_is_refused(w):
    token = issued(w)
    header, payload, signature = token.split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    refused(account(w, f"{header}.{payload}.{flipped}"))
    refused(account(w, f"{header}.{payload}."))
    refused(account(w, f"{segment({'alg': 'HS512', 'typ': 'JWT'})}.{payload}.{signature}"))
    refused(account(w, f"{header}.{payload}"))


@pytest.mark.parametrize("alg", ["none", "None", "NONE"])
def test_an_unsigned_token_is_refused(w, alg):
    claims = {"role": "person", "sub": w.mother["psn_no"],
              "exp": int((w.clock.now + timedelta(hours=1)).timestamp())}
    unsigned = f"{segment({'alg': alg, 'typ': 'JWT'})}.{segment(claims)}."

    refused(account(w, unsigned))


@pytest.mark.filterwarnings("ignore:The HMAC key is")  # the admin token is short for a key
def test_tokens_signed_with_another_key_or_algorithm_are_refused(w):
    claims = {"role": "person", "sub": w.mother["psn_no"],
              "exp": int((w.clock.now + timedelta(hours=1)).timestamp())}
    key = w.app.state.settings.signing_key

    refused(account(w, jwt.encode(claims, b"another-key-" * 8, "HS256")))
    refused(account(w, jwt.encode(claims, key * 2, "HS512")))
    refused(account(w, jwt.encode(claims, ADMIN, "HS256")))  # the admin token is not the key
    assert account(w, jwt.encode(claims, key, "HS256")).status_code == 200


@pytest.mark.parametrize("claims", [
    {"role": "operator", "sub": "operator"},  # the operator is the admin token, never signed
    {"role": "admin", "sub": "x"},
    {"role": "person"},  # no subject
    {"role": "person", "sub": 42},
    {"sub": "x"},  # no role
], ids=["operator", "unknown-role", "no-sub", "sub-not-text", "no-role"])
def test_well_signed_tokens_with_claims_of_the_wrong_kind_are_refused(w, claims):
    key = w.app.state.settings.signing_key
    exp = int((w.clock.now + timedelta(hours=1)).timestamp())
    if "sub" in claims and claims["sub"] == 42:
        token = _signed_raw(key, claims | {"exp": exp})  # PyJWT will not encode a numeric sub
    else:
        token = jwt.encode(claims | {"exp": exp}, key, "HS256")

    refused(account(w, token))
    refused(w.client.get("/api/v1/persons/x", headers={"Authorization": f"Bearer {token}"}))


@pytest.mark.parametrize("exp", [None, "2099-01-01", 4102444800.5, True],
                         ids=["none", "text", "float", "bool"])
def test_an_expiry_that_is_missing_or_not_an_integer_is_refused(w, exp):
    key = w.app.state.settings.signing_key
    claims = {"role": "person", "sub": w.mother["psn_no"]} | ({} if exp is None else {"exp": exp})

    refused(account(w, _signed_raw(key, claims)))


def _signed_raw(key: bytes, claims: dict) -> str:
    """HS256 over exactly these claims, without PyJWT's checks on their types."""
    import hashlib
    import hmac

    signing_input = f"{segment({'alg': 'HS256', 'typ': 'JWT'})}.{segment(claims)}"
    mac = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.mark.parametrize("token", [ADMIN + "x", ADMIN[:-1], ADMIN.upper(), f"{ADMIN} {ADMIN}"],
                         ids=["longer", "shorter", "case", "twice"])
def test_only_the_exact_admin_token_is_the_operator(w, token):
    response = w.client.get(f"/api/v1/persons/{w.mother['psn_no']}",
                            headers={"Authorization": f"Bearer {token}"})

    refused(response)


@pytest.mark.parametrize("body", [
    {"role": "person", "ttl_s": 30 * 86400 + 1}, {"role": "person", "ttl_s": 0},
    {"role": "clerk", "subject": "clerk-x"}, {"role": "operator", "subject": "operator"},
    {"role": "person", "subject": "no-such-person"},
], ids=["too-long", "zero", "clerk-without-region", "operator", "unknown-subject"])
def test_the_operator_cannot_issue_tokens_beyond_the_rules(w, body):
    body = {"subject": w.mother["psn_no"], "ttl_s": 600} | body
    response = w.client.post("/api/v1/tokens", json=body,
                             headers={"Authorization": f"Bearer {ADMIN}"})

    assert response.status_code in (404, 422), response.text


def test_an_institution_token_speaks_only_for_its_own_institution(w):
    envelope = w.envelope("1101", {"mdtrt_cert_type": "02", "mdtrt_cert_no": w.child["certno"]},
                          w.pharmacy)
    response = w.client.post("/fsi/api/rsfComIfsService/callService", json=envelope,
                             headers={"Authorization": f"Bearer {w.tokens['institution']}"})

    assert response.status_code == 403 and response.json()["code"] == "INSTITUTION_MISMATCH"


def test_servers_with_different_operator_tokens_refuse_each_others_tokens(sqlite_url):
    """No secret is defaulted: the signing key comes from the configured secrets, so a token
    of one deployment means nothing to another."""
    keys = [Settings(admin_token=f"ops-token-{n}-5f2c9e81d7", db_url=sqlite_url).checked()
            .signing_key for n in (1, 2)]
    now = utc_now()
    token = jwt.encode({"role": "person", "sub": "P1",
                        "exp": int((now + timedelta(hours=1)).timestamp())}, keys[0], "HS256")

    assert keys[0] != keys[1]
    assert decode_token(keys[0], "", token, now).subject == "P1"
    with pytest.raises(DomainError, match="UNAUTHENTICATED"):
        decode_token(keys[1], "", token, now)


def test_demo_mode_signs_with_a_fresh_random_key_each_start(sqlite_url):
    first = Settings(demo=True, db_url=sqlite_url).checked()
    second = Settings(demo=True, db_url=sqlite_url).checked()

    assert first.signing_key != second.signing_key
    with TestClient(create_app(first)) as client:  # and demo data is not needed to refuse
        assert client.get("/api/v1/account", headers={
            "Authorization": f"Bearer {second.admin_token}"}).status_code == 401
