"""Settings come from GONGJI_* variables and refuse well-known secrets outside demo mode."""

from __future__ import annotations

import pytest

from gongji.settings import Settings


def test_settings_are_read_from_the_environment(monkeypatch):
    monkeypatch.setenv("GONGJI_ADMIN_TOKEN", "ops-token-5f2c9e81d7")
    monkeypatch.setenv("GONGJI_DB_URL", "sqlite:///elsewhere.db")

    settings = Settings().checked()

    assert (settings.admin_token, settings.db_url) == ("ops-token-5f2c9e81d7",
                                                       "sqlite:///elsewhere.db")


@pytest.mark.parametrize("token", ["", "admin", "changeme", " Secret ", "short-token-123"])
def test_a_missing_or_default_operator_token_is_refused_outside_demo(monkeypatch, token):
    monkeypatch.setenv("GONGJI_ADMIN_TOKEN", token)

    with pytest.raises(SystemExit, match="GONGJI_ADMIN_TOKEN"):
        Settings().checked()


def test_a_default_signing_secret_is_refused_outside_demo(monkeypatch):
    monkeypatch.setenv("GONGJI_ADMIN_TOKEN", "ops-token-5f2c9e81d7")
    monkeypatch.setenv("GONGJI_SECRET_KEY", "password")

    with pytest.raises(SystemExit, match="GONGJI_SECRET_KEY"):
        Settings().checked()


def test_demo_mode_makes_a_random_operator_token(monkeypatch):
    monkeypatch.delenv("GONGJI_ADMIN_TOKEN", raising=False)

    first, second = Settings(demo=True).checked(), Settings(demo=True).checked()

    assert first.admin_token.startswith("demo-admin-")
    assert first.admin_token != second.admin_token
