#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""cellgated --config FILE and --admin-token-file (docs/packaging.md).

- admin_token_to_a_file: `init --admin-token-file T` writes the first admin
  token to T (mode 0600) and prints it nowhere; the token works; a second
  init leaves T alone; an existing T before a new store is refused before
  anything is created, as is a T that cannot be created.
- options_file: `serve --config F` takes its options from F, the command
  line overrides them; the first serve writes the token to the file named
  there, not to standard output or the log.
- bad_options_file: an unknown name or a bad value is exit 2 naming FILE:LINE.
- packaged_file_parses: packaging/etc/cellgated.conf is accepted as it is.
"""
import os
import shutil
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import harness as h  # noqa: E402

SRC = os.environ.get("CG_SRC_DIR") or os.path.join(os.path.dirname(__file__), "..", "..", "..")
tmp = tempfile.mkdtemp(prefix="cgconf.")


def run(*args):
    return subprocess.run([h.SERVER_BIN] + list(args), capture_output=True, text=True, timeout=60)


def token_works(data_dir, token):
    with h.Server(data_dir=data_dir) as s:
        st, body = s.api("GET", "/v1/tokens", token=token)
        log = open(s.log_path).read()
    return st == 200, log


try:
    # admin_token_to_a_file
    data = os.path.join(tmp, "data")
    tok = os.path.join(tmp, "admin.token")
    r = run("init", "--data", data, "--admin-token-file", tok)
    h.check(r.returncode == 0, "init with --admin-token-file: %s %s" % (r.returncode, r.stderr))
    st = os.stat(tok)
    h.check(stat.S_IMODE(st.st_mode) == 0o600, "token file mode %o" % stat.S_IMODE(st.st_mode))
    token = open(tok).read().strip()
    h.check(len(token) > 20, "token file holds %r" % token)
    h.check(token not in r.stdout and token not in r.stderr, "the token was printed")
    h.check("admin token written to %s" % tok in r.stdout, "init said: %r" % r.stdout)
    ok, log = token_works(data, token)
    h.check(ok, "the token of the file is refused")
    h.check(token not in log, "the token is in the server's log")
    r = run("init", "--data", data, "--admin-token-file", tok)
    h.check(r.returncode == 0 and open(tok).read().strip() == token,
            "a second init changed the token file: %s %s" % (r.returncode, r.stderr))

    data2 = os.path.join(tmp, "data2")
    r = run("init", "--data", data2, "--admin-token-file", tok)
    h.check(r.returncode == 1 and "refusing to overwrite" in r.stderr,
            "an existing token file before a new store: %s %s" % (r.returncode, r.stderr))
    h.check(not os.path.exists(os.path.join(data2, "signing.key")),
            "a store was created although the token file was refused")
    h.check(open(tok).read().strip() == token, "the existing token file was changed")
    r = run("init", "--data", data2, "--admin-token-file", os.path.join(tmp, "no", "such", "t"))
    h.check(r.returncode == 1 and "No such file or directory" in r.stderr,
            "an uncreatable token file: %s %s" % (r.returncode, r.stderr))
    h.check(not os.path.exists(os.path.join(data2, "signing.key")),
            "a store was created although its token file could not be")

    # options_file: the file's listen is a port nothing may use (1); the
    # command line's (the harness's 127.0.0.1:0) wins
    data3 = os.path.join(tmp, "data3")
    os.mkdir(data3, 0o700)
    tok3 = os.path.join(data3, "admin.token")  # where the harness looks for it
    conf = h.write(tmp, "cellgated.conf",
                   "# test\nlisten = 127.0.0.1:1\nadmin-token-file = %s\nthreads = 3\n"
                   "no-ui\nmax-parked = 77\n" % tok3)
    with h.Server(data_dir=data3, extra_args=["--config", conf]) as s:
        h.check(s.admin_token and os.path.exists(tok3), "no token file from the first serve")
        st, _ = s.api("GET", "/v1/tokens")
        h.check(st == 200, "token from the file: %s" % st)
        st, _, body = s.request("GET", "/ui/", token=None)
        h.check(st == 404, "no-ui from the file: /ui/ answered %s" % st)
        s.proc.stdout.flush()
    log = open(os.path.join(data3, "server.log")).read()
    h.check(s.admin_token not in log, "the token is in the log")

    # bad_options_file
    bad = h.write(tmp, "bad.conf", "data = %s\n\nthreds = 4\n" % data3)
    r = run("serve", "--config", bad, "--listen", "127.0.0.1:0")
    h.check(r.returncode == 2 and "%s:3: unknown option 'threds'" % bad in r.stderr,
            "unknown key: %s %s" % (r.returncode, r.stderr))
    bad = h.write(tmp, "bad.conf", "max-parked = lots\n")
    r = run("serve", "--config", bad, "--data", data3)
    h.check(r.returncode == 2 and "%s:1: bad value 'lots' for max-parked" % bad in r.stderr,
            "bad value: %s %s" % (r.returncode, r.stderr))
    r = run("serve", "--config", os.path.join(tmp, "none.conf"))
    h.check(r.returncode == 2 and "none.conf: No such file or directory" in r.stderr,
            "missing file: %s %s" % (r.returncode, r.stderr))

    # packaged_file_parses (its admin-token-file and data overridden: no /etc, no /var)
    packaged = os.path.join(SRC, "packaging", "etc", "cellgated.conf")
    data4 = os.path.join(tmp, "data4")
    os.mkdir(data4, 0o700)
    with h.Server(data_dir=data4, extra_args=[
            "--config", packaged, "--admin-token-file", os.path.join(data4, "admin.token")]) as s:
        st, _ = s.api("GET", "/v1/tokens")
        h.check(st == 200, "server with the packaged options: %s" % st)
finally:
    shutil.rmtree(tmp, ignore_errors=True)
h.done("05-config-file", 4)
