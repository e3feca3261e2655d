"""Browser tests: the real app served by uvicorn on loopback, Debian's Chromium driven by
Playwright. Screenshots go to artifacts/screenshots (not committed)."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from pathlib import Path

import pytest
import uvicorn

from gongji.api.app import create_app
from gongji.services.demo import seed
from gongji.settings import Settings

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
SHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
ADMIN = "web-test-admin-token-0123456789"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: `make test` installs it (apt-get install chromium)")
    return {**browser_type_launch_args, "executable_path": CHROMIUM,
            "args": ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--no-first-run"]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def live_server(tmp_path):
    """A demo-mode server on a fresh SQLite database, with the demo families loaded."""
    settings = Settings(demo=True, admin_token=ADMIN, db_url=f"sqlite:///{tmp_path}/web.db")
    app = create_app(settings)
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


@pytest.fixture
def shoot(page):
    """Save a full-page screenshot at phone (375 px) and desktop (1280 px) width."""
    SHOTS.mkdir(parents=True, exist_ok=True)

    def take(name: str) -> None:
        for label, width in (("phone", 375), ("desktop", 1280)):
            page.set_viewport_size({"width": width, "height": 900})
            page.screenshot(path=str(SHOTS / f"{name}-{label}.png"), full_page=True)
        page.set_viewport_size({"width": 375, "height": 900})

    return take
