"""Settings from the environment (GONGJI_*). Outside demo mode no secret is defaulted."""

from __future__ import annotations

import hashlib
import secrets

from pydantic_settings import BaseSettings, SettingsConfigDict

WEAK_SECRETS = {"", "admin", "changeme", "change-me", "secret", "password", "demo", "test",
                "token", "gongji"}


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GONGJI_", extra="ignore")

    admin_token: str = ""
    secret_key: str = ""  # signs person/institution/clerk tokens; derived from admin_token if unset
    db_url: str = "sqlite:///./gongji.db"
    demo: bool = False
    log_json: bool = True

    def checked(self) -> Settings:
        """Refuse to run with a missing or well-known secret, except in demo mode,
        which makes random ones."""
        if self.demo:
            if not self.admin_token:
                self.admin_token = "demo-admin-" + secrets.token_urlsafe(18)
        elif self.admin_token.strip().lower() in WEAK_SECRETS:
            raise SystemExit("GONGJI_ADMIN_TOKEN 未设置或过于简单：拒绝启动（演示请用 --demo）")
        if self.secret_key and self.secret_key.strip().lower() in WEAK_SECRETS and not self.demo:
            raise SystemExit("GONGJI_SECRET_KEY 过于简单：拒绝启动")
        return self

    @property
    def signing_key(self) -> bytes:
        if self.secret_key:
            return self.secret_key.encode()
        return hashlib.sha256(b"gongji-token-signing:" + self.admin_token.encode()).digest()
