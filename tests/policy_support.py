"""Publishing policy versions in tests, the way the operator does."""

from __future__ import annotations

from datetime import date, timedelta

from gongji.services.binding.actor import Actor
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.registry import policies

OPERATOR = Actor("operator", "operator")


def publish(ctx: Context, admdvs: str, rules: dict, *, days_ahead: int = 0) -> dict:
    """A version of `admdvs` with `rules`, effective today (or that many days ahead)."""
    day: date = local_date(ctx.now()) + timedelta(days=days_ahead)
    return policies.publish(ctx, admdvs, {"effective_from": day.isoformat(), "rules": rules},
                            OPERATOR)


def publish_http(api, admdvs: str, rules: dict, day: date) -> dict:  # noqa: ANN001
    """The same over REST, as the operator (e2e `api` fixture)."""
    response = api.post(f"/api/v1/policies/{admdvs}/versions",
                        {"effective_from": day.isoformat(), "rules": rules})
    assert response.status_code == 201, response.text
    return response.json()
