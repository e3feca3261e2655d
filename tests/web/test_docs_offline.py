"""The API documentation works with no internet: Swagger UI (/docs) and ReDoc (/redoc) come
from this server, every other host is cut off, and the pages run with no console error and
no Content-Security-Policy violation."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.web

SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"  # as conftest.py

TITLE = "gongji 家庭共济"
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"
# Set before any page script runs (init scripts are not subject to the page's CSP).
WATCH_CSP = """
window.__csp = [];
document.addEventListener('securitypolicyviolation', e => window.__csp.push(
  e.violatedDirective + ' ' + (e.blockedURI || '') + ' ' + (e.sourceFile || '')));
"""


class Offline:
    """Only 127.0.0.1 is reachable; every request elsewhere is refused and noted, as are
    console errors and uncaught exceptions."""

    def __init__(self, page: Page):
        self.outside: list[str] = []
        self.errors: list[str] = []
        page.route("**/*", self._route)
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(str(e)))
        page.add_init_script(WATCH_CSP)

    def _route(self, route: Route) -> None:
        url = route.request.url
        if urlsplit(url).hostname == "127.0.0.1" or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.outside.append(url)
            route.abort("internetdisconnected")

    def check(self, page: Page, *, refused: str | None = None) -> None:
        """`refused`: the one off-site URL the page's bundle names, refused by the CSP."""
        violations = page.evaluate("window.__csp")
        errors = self.errors
        if refused is not None:
            violations = [v for v in violations if v.split()[:2] != ["img-src", refused]]
            errors = [e for e in errors if refused not in e]
        assert violations == [], "Content-Security-Policy violations"
        assert errors == [], "console errors"
        assert self.outside == [], "requests to other hosts"


def test_swagger_ui_renders_offline(page: Page, live_server, browser_zone):
    offline = Offline(page)
    page.goto(f"{live_server}/docs")
    expect(page.locator(".information-container .title")).to_contain_text(TITLE)
    operations = page.locator(".opblock")
    expect(operations.first).to_be_visible()
    assert operations.count() > 10
    expect(page.locator(".opblock-summary-path", has_text="/healthz")).to_be_visible()

    # Open one operation: its responses (the documented error body too) are drawn.
    page.locator('.opblock-summary-path[data-path="/api/v1/account"]').first.click()
    expect(page.locator(".opblock.is-open .responses-table").first).to_be_visible()
    offline.check(page)

    zone = browser_zone.split("/")[-1].lower()  # utc, shanghai
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.screenshot(path=str(SHOTS / f"docs-{zone}-desktop.png"), full_page=True)
    offline.check(page)


def test_redoc_renders_offline(page: Page, live_server):
    offline = Offline(page)
    page.goto(f"{live_server}/redoc")
    expect(page.locator("h1").first).to_contain_text(TITLE)
    expect(page.get_by_text("/healthz").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    # ReDoc 2's sidebar footer always names the Redocly logo on its CDN (no option hides
    # it); the CSP refuses it, the browser never asks that host, and the <img> removes
    # itself on the error. Nothing else may be refused.
    offline.check(page, refused=REDOCLY_LOGO)
    expect(page.locator(f'img[src="{REDOCLY_LOGO}"]')).to_have_count(0)


def test_pages_name_their_icon_and_it_loads(page: Page, live_server):
    offline = Offline(page)
    page.goto(f"{live_server}/")
    href = page.locator("link[rel=icon]").get_attribute("href")
    answer = page.request.get(f"{live_server}{href}")
    assert answer.status == 200 and answer.headers["content-type"].startswith("image/")
    page.wait_for_load_state("networkidle")
    offline.check(page)
