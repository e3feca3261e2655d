"""`gongji serve` as a child process on a loopback port, for tests that start, kill -9 and
restart the real server."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

import pgserver

GONGJI = Path(sys.executable).with_name("gongji")


class ServerFailed(RuntimeError):
    """The server did not come up; the message holds the end of its log."""


class GongjiServer:
    def __init__(self, db_url: str, log_path: Path, *, admin_token: str | None,
                 workers: int = 1, extra_args: tuple[str, ...] = ()):
        self.db_url, self.log_path, self.workers = db_url, log_path, workers
        self.port = pgserver.free_port()
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("GONGJI_")}
        if admin_token is not None:
            self.env["GONGJI_ADMIN_TOKEN"] = admin_token
        self.extra_args = extra_args
        self.proc: subprocess.Popen | None = None
        self.starts = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def command(self) -> list[str]:
        return [str(GONGJI), "serve", "--db", self.db_url, "--host", "127.0.0.1",
                "--port", str(self.port), "--workers", str(self.workers), *self.extra_args]

    def launch(self) -> subprocess.Popen:
        """Start the process (its own process group), output appended to the log."""
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(self.command(), env=self.env, stdin=subprocess.DEVNULL,
                                         stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        self.starts += 1
        return self.proc

    def start(self, timeout_s: float = 90.0) -> GongjiServer:
        """Start and wait until GET /healthz answers 200."""
        self.launch()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ServerFailed(f"gongji serve exited with {self.proc.returncode}:\n"
                                   f"{self.log_tail()}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.05)
        self.kill()
        raise ServerFailed(f"gongji serve not ready within {timeout_s:.0f}s:\n{self.log_tail()}")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """kill -9 the server and every worker of it, as a crash would."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(30)

    def stop(self) -> None:
        """A polite stop (SIGTERM), then SIGKILL if it lingers."""
        proc = self.proc
        if proc is None or proc.poll() is not None:
            self.proc = None
            return
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
            self.proc = None
        except subprocess.TimeoutExpired:
            self.kill()

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"
