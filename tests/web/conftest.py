"""Browser tests: the real app served by uvicorn on loopback, Debian's Chromium driven by
Playwright. Screenshots go to artifacts/screenshots (not committed).

Every browser test runs twice, with the browser in UTC and in Asia/Shanghai: the pages must
show Beijing dates whatever zone the phone or the CI machine is set to. A test fixes the
server's clock by parametrizing `server_now` (an ISO instant; None = the real clock)."""

from __future__ import annotations

import itertools
import shutil
import socket
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import uvicorn

from gongji.app import create_app
from gongji.services.context import Context
from gongji.services.operations.demo import seed
from gongji.settings import Settings
from gongji.store.db import make_engine

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ADMIN = "web-test-admin-token-0123456789"
# The zones a browser may be in: CI machines run in UTC, phones in China in Beijing time.
ZONES = {"utc": "UTC", "shanghai": "Asia/Shanghai"}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


@pytest.fixture(params=list(ZONES.values()), ids=list(ZONES))
def browser_zone(request) -> str:
    return request.param


@pytest.fixture
def browser_context_args(browser_context_args, browser_zone):
    """Each test's browser context in the zone under test (function scope, so it can vary),
    with the language of a phone in China (navigator.language and Accept-Language)."""
    return {**browser_context_args, "timezone_id": browser_zone, "locale": "zh-CN"}


@pytest.fixture
def server_now() -> str | None:
    """The server clock's start, as an ISO instant; None: the real clock. Tests parametrize it."""
    return None


class SteppingClock:
    """A fixed start that moves one millisecond per reading: the same instant every run, yet
    strictly increasing, so newest-first lists keep the order things happened in."""

    def __init__(self, start: datetime):
        self.start, self.readings = start.astimezone(UTC), itertools.count()

    def __call__(self) -> datetime:
        return self.start + timedelta(milliseconds=next(self.readings))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server_settings() -> dict:
    """Settings beyond demo mode for the server under test (the OIDC tests add theirs)."""
    return {}


@pytest.fixture
def live_server(sqlite_url, server_now, server_settings):
    """A demo-mode server on a fresh SQLite database (a copy of the session's migrated
    template, tests/conftest.py), with the demo families loaded."""
    settings = Settings(demo=True, admin_token=ADMIN, db_url=sqlite_url, **server_settings)
    context = None
    if server_now is not None:
        clock = SteppingClock(datetime.fromisoformat(server_now))
        context = Context(make_engine(settings.db_url), clock)
    app = create_app(settings, context=context, migrate=False)
    seed(app.state.ctx)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline:
            pytest.fail("the web test server did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)
    app.state.ctx.engine.dispose()


# Visible buttons that stick out of the screen, or out of a box that clips them (a button
# inside a table that scrolls sideways is reachable, so only the screen's edge counts there).
CUT_OFF_BUTTONS = """() => [...document.querySelectorAll("button, a.button")]
  .filter((b) => b.getClientRects().length > 0 && !b.closest(".table-wrap"))
  .filter((b) => { const r = b.getBoundingClientRect();
                   return r.left < 0 || r.right > document.documentElement.clientWidth + 0.5; })
  .map((b) => b.textContent.trim())"""


@pytest.fixture
def shoot(page, browser_zone):
    """Save a full-page screenshot at phone (375 px) and desktop (1280 px) width, one set per
    browser zone."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    zone = next(key for key, value in ZONES.items() if value == browser_zone)

    def take(name: str) -> None:
        for label, width in (("phone", 375), ("desktop", 1280)):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SHOTS / f"{name}-{zone}-{label}.png"), full_page=True)
            # Nothing pushes the page wider than the screen (a phone would scroll sideways);
            # wide tables scroll inside their own box.
            wide = page.evaluate("() => document.documentElement.scrollWidth")
            assert wide <= width, f"{name} is {wide} px wide at {width} px"
            cut = page.evaluate(CUT_OFF_BUTTONS)
            assert not cut, f"{name} at {width} px: buttons cut off: {cut}"
        page.set_viewport_size({"width": 375, "height": 900})

    return take
