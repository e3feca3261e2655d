"""axe-core, as shipped by the axe-playwright-python package, run inside the page."""

from __future__ import annotations

from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Page

AXE = Axe()
BLOCKING = ("serious", "critical")


def blocking_violations(page: Page) -> list[str]:
    """Serious and critical violations of the page as it is now, one line each."""
    results = AXE.run(page, options={"resultTypes": ["violations"]})
    return [f"{v['id']} ({v['impact']}): " + "; ".join(
                ", ".join(node["target"]) for node in v["nodes"])
            for v in results.response["violations"] if v["impact"] in BLOCKING]
