# SPDX-License-Identifier: MIT
"""A real PostgreSQL for the tests: initdb into a temporary directory, one
postmaster on 127.0.0.1 with an ephemeral port, stopped by its PID.

PostgreSQL refuses to run as root, and CI runs as root: then initdb and the
postmaster run as the unprivileged 'postgres' user that Debian's package
creates (through setpriv, which execs: the PID held is the postmaster's), and the directory is handed to that user. As
any other user they run as that user.

Used by tests/helpers/with_pg.py (the store suite on PostgreSQL) and by
the integration tests of replicas (import it from tests/helpers).

    pg = PgServer()            # initdb + start; raises PgError on failure
    dsn = pg.create_db("t1")   # "postgres://cellgate@127.0.0.1:PORT/t1"
    pg.stop()                  # SIGINT (fast shutdown), then SIGKILL after 30 s
"""
import glob
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

SUPERUSER = "cellgate"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 30


class PgError(Exception):
    """PostgreSQL could not be set up, started or reached."""


def pg_bindir():
    """The newest installed PostgreSQL's bin directory (Debian layout)."""
    env = os.environ.get("CG_PG_BINDIR")
    if env:
        return env
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"),
                  key=lambda p: int(p.split("/")[4]) if p.split("/")[4].isdigit() else 0)
    if not dirs:
        raise PgError("PostgreSQL is not installed (Debian package 'postgresql'; "
                      "scripts/deps.sh installs it)")
    return os.path.dirname(dirs[-1])


def free_port():
    """An ephemeral port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PgServer:
    """One PostgreSQL cluster in a temporary directory."""

    def __init__(self, settings=None, start=True):
        self.bindir = pg_bindir()
        self.root = tempfile.mkdtemp(prefix="cg-pg-")
        self.datadir = os.path.join(self.root, "data")
        self.sockdir = os.path.join(self.root, "sock")
        self.logpath = os.path.join(self.root, "postgres.log")
        self.proc = None
        self.port = None
        self.settings = dict(settings or {})
        self.as_user = None
        if os.geteuid() == 0:
            self.as_user = "postgres"
            try:
                import pwd
                pw = pwd.getpwnam(self.as_user)
            except KeyError as e:
                raise PgError("running as root and there is no 'postgres' user to run "
                              "PostgreSQL as (install the Debian package 'postgresql')") from e
            os.chown(self.root, pw.pw_uid, pw.pw_gid)
        os.makedirs(self.sockdir)
        if self.as_user:
            os.chown(self.sockdir, pw.pw_uid, pw.pw_gid)
        self._run([os.path.join(self.bindir, "initdb"), "-D", self.datadir, "-U", SUPERUSER,
                   "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"], "initdb")
        if start:
            self.start()

    def _cmd(self, argv):
        if self.as_user:
            # setpriv execs (no fork): the PID we hold is the postmaster's.
            return ["setpriv", "--reuid", self.as_user, "--regid", self.as_user,
                    "--init-groups", "--"] + argv
        return argv

    def _run(self, argv, what, timeout=120):
        r = subprocess.run(self._cmd(argv), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout, check=False)
        if r.returncode != 0:
            raise PgError("%s failed (exit %d): %s" % (what, r.returncode,
                                                       r.stdout.decode(errors="replace")[-2000:]))
        return r.stdout.decode(errors="replace")

    def start(self):
        """Starts the postmaster (again) and waits until it accepts connections."""
        last = ""
        for _ in range(3):
            if self.port is None or last:
                self.port = free_port()
            argv = [os.path.join(self.bindir, "postgres"), "-D", self.datadir,
                    "-p", str(self.port), "-k", self.sockdir,
                    "-c", "listen_addresses=127.0.0.1",
                    "-c", "max_connections=200", "-c", "logging_collector=off"]
            for k, v in self.settings.items():
                argv += ["-c", "%s=%s" % (k, v)]
            log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(self._cmd(argv), stdout=log, stderr=log,
                                         stdin=subprocess.DEVNULL, start_new_session=True)
            log.close()
            if self._wait_ready():
                return
            last = self.log_tail()
            self._kill()
        raise PgError("PostgreSQL did not start: " + last)

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            r = subprocess.run([os.path.join(self.bindir, "pg_isready"), "-q", "-h", "127.0.0.1",
                                "-p", str(self.port), "-U", SUPERUSER, "-d", "postgres"],
                               check=False, timeout=10)
            if r.returncode == 0:
                return True
            time.sleep(0.1)
        return False

    @property
    def pid(self):
        """The postmaster's PID."""
        return self.proc.pid if self.proc else None

    def dsn(self, db="postgres"):
        """A libpq URI for database db."""
        return "postgres://%s@127.0.0.1:%d/%s" % (SUPERUSER, self.port, db)

    def psql(self, sql, db="postgres"):
        """Runs sql with psql; returns its output (unaligned, tuples only)."""
        r = subprocess.run([os.path.join(self.bindir, "psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-d", self.dsn(db), "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                           check=False)
        if r.returncode != 0:
            raise PgError("psql failed: " + r.stdout.decode(errors="replace"))
        return r.stdout.decode(errors="replace").strip()

    def create_db(self, name):
        """Creates an empty database; returns its DSN."""
        self.psql('CREATE DATABASE "%s"' % name)
        return self.dsn(name)

    def log_tail(self, n=4000):
        try:
            with open(self.logpath, "rb") as f:
                return f.read().decode(errors="replace")[-n:]
        except OSError:
            return ""

    def _kill(self):
        if self.proc and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(timeout=STOP_TIMEOUT_S)

    def stop(self, mode=signal.SIGINT):
        """Stops the postmaster by PID (SIGINT: fast shutdown) and waits."""
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(mode)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._kill()

    def restart(self):
        """A clean stop and a start on the same port."""
        self.stop()
        self.start()

    def close(self):
        """Stops and removes the directory."""
        self.stop()
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
