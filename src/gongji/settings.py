"""Settings from the environment (GONGJI_*). Outside demo mode no secret is defaulted."""

from __future__ import annotations

import hashlib
import secrets
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRETS = {"", "admin", "changeme", "change-me", "secret", "password", "demo", "test",
                "token", "gongji"}


MIN_SECRET_CHARS = 16


def _weak(secret: str) -> bool:
    return len(secret.strip()) < MIN_SECRET_CHARS or secret.strip().lower() in WEAK_SECRETS


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGJI_", extra="ignore")

    admin_token: str = ""
    secret_key: str = ""  # signs person/institution/clerk tokens; derived from admin_token if unset
    db_url: str = "sqlite:///./gongji.db"
    demo: bool = False
    log_json: bool = True
    # Exactly-once records (idempotency table) older than this are removed by
    # `gongji idempotency purge`; a retry after that is evaluated again (README "Exactly once").
    idempotency_retention_days: int = Field(default=90, ge=1, le=36500)
    # Group commit (services/batching.py): at most this many exactly-once commands share a
    # transaction; the writer waits up to batch_wait_ms for more once one has come (0: it
    # takes what is waiting, which under load is already a batch).
    batch_max_size: int = Field(default=64, ge=1, le=1000)
    batch_wait_ms: float = Field(default=0.0, ge=0.0, le=50.0)
    # Sign-in through the province's identity service (OpenID Connect; web/oidc.py). Off
    # while the issuer or the client id is empty: the pages then offer demo and token only.
    oidc_issuer: str = ""
    oidc_client_id: str = ""
    oidc_client_secret: str = ""
    oidc_scope: str = "openid profile"
    oidc_public_url: str = ""  # the origin the browser sees, if not the one asked (a proxy)
    oidc_certno_claim: str = "certno"  # the claim that carries a person's ID number
    oidc_clerk_claim: str = "clerk_id"  # a clerk's staff id
    oidc_region_claim: str = "admdvs"  # the region a clerk serves
    # The channel the portal is (CONTRACT channels): the app knows it, the person is not asked.
    # The national app is the one channel every region's policy admits (Tibet has no website).
    portal_channel: Literal["national_app", "mini_program", "wechat", "website", "kiosk"] = (
        "national_app")

    @property
    def oidc_enabled(self) -> bool:
        return bool(self.oidc_issuer and self.oidc_client_id)

    def checked(self) -> Settings:
        """Refuse to run with a missing or well-known secret, except in demo mode,
        which makes random ones."""
        if self.demo:
            if not self.admin_token:
                self.admin_token = "demo-admin-" + secrets.token_urlsafe(18)
        elif _weak(self.admin_token):
            raise SystemExit(f"GONGJI_ADMIN_TOKEN 未设置、少于 {MIN_SECRET_CHARS} 个字符"
                             "或过于简单：拒绝启动（演示请用 --demo）")
        if self.secret_key and _weak(self.secret_key) and not self.demo:
            raise SystemExit(f"GONGJI_SECRET_KEY 少于 {MIN_SECRET_CHARS} 个字符"
                             "或过于简单：拒绝启动")
        return self

    @property
    def signing_key(self) -> bytes:
        if self.secret_key:
            return self.secret_key.encode()
        return hashlib.sha256(b"gongji-token-signing:" + self.admin_token.encode()).digest()
