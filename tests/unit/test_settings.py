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


def test_the_group_commit_bounds_reach_the_writer(monkeypatch, tmp_path):
    from gongji.app import create_app

    monkeypatch.setenv("GONGJI_ADMIN_TOKEN", "ops-token-5f2c9e81d7")
    monkeypatch.setenv("GONGJI_BATCH_MAX_SIZE", "7")
    monkeypatch.setenv("GONGJI_BATCH_WAIT_MS", "2.5")
    monkeypatch.setenv("GONGJI_DB_URL", f"sqlite:///{tmp_path}/g.db")

    batcher = create_app(Settings().checked()).state.ctx.batcher

    assert (batcher.max_size, batcher.max_wait_s) == (7, 0.0025)


@pytest.mark.parametrize("name, value", [("GONGJI_BATCH_MAX_SIZE", "0"),
                                         ("GONGJI_BATCH_WAIT_MS", "-1"),
                                         ("GONGJI_BATCH_WAIT_MS", "500")])
def test_group_commit_bounds_out_of_range_are_refused(monkeypatch, name, value):
    from pydantic import ValidationError

    monkeypatch.setenv(name, value)

    with pytest.raises(ValidationError):
        Settings()
