# SPDX-License-Identifier: MIT
"""A real PgBouncer (Debian's package 'pgbouncer') for the tests, in front of
a PgServer (tests/helpers/pgserver.py): an ini and a userlist in a temporary
directory, one process listening on 127.0.0.1 with an ephemeral port, no
Unix socket, stopped by its PID (never by name).

Every database name is forwarded to the PostgreSQL behind it (the fallback
database '*'), as the same user; authentication is 'trust' (the user must
still be listed in the userlist). PgBouncer refuses to run as root: as root
it runs as the unprivileged 'postgres' user through setpriv (which execs,
so the PID held is PgBouncer's), as pgserver.py runs PostgreSQL.

    pg = PgServer()
    dsn = pg.create_db("cg")
    with PgBouncer(pg, pool_mode="transaction") as pb:
        pb.dsn("cg")           # "postgres://cellgate@127.0.0.1:PORT/cg"
    # stop(): SIGTERM (immediate shutdown), then SIGKILL after 30 s
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time

import pgserver

START_TIMEOUT_S = 30
STOP_TIMEOUT_S = 30


def pgbouncer_bin():
    """The pgbouncer executable (Debian installs it in /usr/sbin)."""
    env = os.environ.get("CG_PGBOUNCER")
    if env:
        return env
    for p in ("/usr/sbin/pgbouncer", "/usr/bin/pgbouncer"):
        if os.access(p, os.X_OK):
            return p
    found = shutil.which("pgbouncer")
    if found:
        return found
    raise pgserver.PgError("PgBouncer is not installed (Debian package 'pgbouncer'; "
                           "scripts/deps.sh installs it)")


def pgbouncer_version():
    """PgBouncer's version line, e.g. 'PgBouncer 1.18.0'."""
    r = subprocess.run([pgbouncer_bin(), "--version"], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=30, check=False)
    return r.stdout.decode(errors="replace").splitlines()[0].strip()


class PgBouncer:
    """One PgBouncer process in front of one PgServer."""

    def __init__(self, pg, pool_mode="session", settings=None, start=True):
        self.pg = pg
        self.pool_mode = pool_mode
        self.settings = dict(settings or {})
        self.root = tempfile.mkdtemp(prefix="cg-pgb-")
        self.ini = os.path.join(self.root, "pgbouncer.ini")
        self.userlist = os.path.join(self.root, "userlist.txt")
        self.logpath = os.path.join(self.root, "pgbouncer.log")
        self.proc = None
        self.port = None
        self.as_user = None
        self._pw = None
        if os.geteuid() == 0:
            self.as_user = "postgres"
            try:
                import pwd
                self._pw = pwd.getpwnam(self.as_user)
            except KeyError as e:
                raise pgserver.PgError("running as root and there is no 'postgres' user to run "
                                       "PgBouncer as (install the Debian package "
                                       "'postgresql')") from e
            os.chown(self.root, self._pw.pw_uid, self._pw.pw_gid)
        if start:
            self.start()

    def _cmd(self, argv):
        if self.as_user:
            return ["setpriv", "--reuid", self.as_user, "--regid", self.as_user,
                    "--init-groups", "--"] + argv
        return argv

    def _write(self, path, text):
        with open(path, "w") as f:
            f.write(text)
        if self._pw:
            os.chown(path, self._pw.pw_uid, self._pw.pw_gid)
        os.chmod(path, 0o600)

    def _write_config(self):
        self._write(self.userlist, '"%s" ""\n' % pgserver.SUPERUSER)
        conf = {
            "listen_addr": "127.0.0.1",
            "listen_port": str(self.port),
            "unix_socket_dir": "",
            "auth_type": "trust",
            "auth_file": self.userlist,
            "pool_mode": self.pool_mode,
            "max_client_conn": "200",
            "default_pool_size": "20",
            "ignore_startup_parameters": "extra_float_digits",
            "logfile": "",
            "pidfile": "",
        }
        conf.update(self.settings)
        text = ["[databases]",
                "* = host=127.0.0.1 port=%d user=%s" % (self.pg.port, pgserver.SUPERUSER),
                "", "[pgbouncer]"]
        text += ["%s = %s" % (k, v) for k, v in conf.items()]
        self._write(self.ini, "\n".join(text) + "\n")

    def start(self):
        """Starts PgBouncer (again) and waits until it accepts connections."""
        last = ""
        for _ in range(3):
            if self.port is None or last:
                self.port = pgserver.free_port()
            self._write_config()
            log = open(self.logpath, "ab")
            self.proc = subprocess.Popen(self._cmd([pgbouncer_bin(), self.ini]), stdout=log,
                                         stderr=log, stdin=subprocess.DEVNULL,
                                         start_new_session=True)
            log.close()
            if self._wait_ready():
                return self
            last = self.log_tail() or "(no log)"
            self._kill()
        raise pgserver.PgError("PgBouncer did not start: " + last)

    def _wait_ready(self):
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return True
            except OSError:
                time.sleep(0.05)
        return False

    @property
    def pid(self):
        """PgBouncer's PID."""
        return self.proc.pid if self.proc else None

    def dsn(self, db="postgres"):
        """A libpq URI for database db through PgBouncer."""
        return "postgres://%s@127.0.0.1:%d/%s" % (pgserver.SUPERUSER, self.port, db)

    def psql(self, sql, db="postgres"):
        """Runs sql with psql through PgBouncer; returns its output."""
        r = subprocess.run([os.path.join(self.pg.bindir, "psql"), "-X", "-q", "-A", "-t",
                            "-v", "ON_ERROR_STOP=1", "-d", self.dsn(db), "-c", sql],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60,
                           check=False)
        if r.returncode != 0:
            raise pgserver.PgError("psql through PgBouncer failed: " +
                                   r.stdout.decode(errors="replace"))
        return r.stdout.decode(errors="replace").strip()

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

    def stop(self):
        """Stops PgBouncer by PID (SIGTERM: immediate shutdown) and waits."""
        if not self.proc or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            self._kill()

    def close(self):
        """Stops and removes the directory."""
        self.stop()
        self._kill()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
