"""共济额度 in tests: every shipped region has it switched off (SPEC §12: a rule a region
may switch on later), so a test that needs it switches it on as a region would: the
operator publishes a policy version in force from the test clock's day
(services/registry/policies.publish), and the service reads it through its ordinary dated
lookup. Nothing is patched.
"""

from __future__ import annotations

from gongji.services.binding.actor import Actor
from gongji.services.clock import local_date
from gongji.services.context import Context
from gongji.services.registry import policies


def enable_quotas(ctx: Context, admdvs: str) -> None:
    """Publish `mutual_aid_quota_enabled = true` for `admdvs`, in force from today."""
    policies.publish(ctx, admdvs, {"effective_from": local_date(ctx.now()).isoformat(),
                                   "rules": {"mutual_aid_quota_enabled": True}},
                     Actor("operator", "operator"))
