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


def no_blocking_violations(page: Page, where: str) -> None:
    """None at phone (375 px) and desktop (1280 px) width; the page is left at 375 px."""
    for width in (375, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        found = blocking_violations(page)
        assert not found, f"{where} at {width} px: {found}"
    page.set_viewport_size({"width": 375, "height": 900})
