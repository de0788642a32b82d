#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_man.py: the roff man pages the build generates (scripts/md2man.py,
packaging/CMakeLists.txt) render without a single groff warning and have
their NAME and SYNOPSIS sections.

Usage: check_man.py DIR   (DIR holds cellgate.1, cellgate-sim.1, cellgated.8,
cellgate-agent.8; the install test runs the same check on /usr/share/man)
"""
import os
import subprocess
import sys

PAGES = ["cellgate.1", "cellgate-sim.1", "cellgated.8", "cellgate-agent.8"]


def check_page(path):
    """A list of problems with the page at path (plain or .gz)."""
    problems = []
    if path.endswith(".gz"):
        import gzip
        src = gzip.open(path, "rb").read()
    else:
        src = open(path, "rb").read()
    r = subprocess.run(["groff", "-man", "-Tutf8", "-ww", "-z"], input=src,
                       capture_output=True, timeout=60)
    if r.returncode != 0 or r.stderr.strip():
        problems.append("%s: groff -ww: rc %d %s" % (path, r.returncode,
                                                     r.stderr.decode(errors="replace")))
    r = subprocess.run(["groff", "-man", "-Tutf8", "-P-c", "-P-b", "-P-u"], input=src,
                       capture_output=True, timeout=60)
    text = r.stdout.decode(errors="replace")
    for sec in ("NAME", "SYNOPSIS"):
        if "\n" + sec + "\n" not in "\n" + text:
            problems.append("%s: no %s section in the rendered page" % (path, sec))
    name = os.path.basename(path).split(".")[0]
    if name + " - " not in text and name + " \u2010 " not in text:
        problems.append("%s: NAME does not start with '%s - '" % (path, name))
    return problems


def main():
    if len(sys.argv) != 2:
        sys.exit("usage: check_man.py DIR")
    problems = []
    for p in PAGES:
        path = os.path.join(sys.argv[1], p)
        if not os.path.exists(path):
            problems.append("%s: missing" % path)
            continue
        problems += check_page(path)
    if problems:
        sys.exit("\n".join(problems))
    print("man: %d pages render without warnings, with NAME and SYNOPSIS" % len(PAGES))


if __name__ == "__main__":
    main()
