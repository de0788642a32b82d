#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Rewrites the OPTIONS section of docs/man/cellgated.8.md from the option
table (server/config.c), as `cellgated --help-markdown` prints it.

Usage: gen-man-options.py [BUILD_DIR]   (default: build)

tests/integration/00-basics/04-man-options.py fails when the section and
the table differ; run this (or `make man`) after changing the table.
"""
import os
import subprocess
import sys

SRC = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
MAN = os.path.join(SRC, "docs", "man", "cellgated.8.md")
HEADING = "## OPTIONS\n"


def split(text):
    """(before the section body, the body, from the next section on)."""
    start = text.index(HEADING) + len(HEADING)
    end = text.find("\n## ", start)
    end = len(text) if end < 0 else end + 1
    return text[:start], text[start:end], text[end:]


def main():
    build = sys.argv[1] if len(sys.argv) > 1 else os.path.join(SRC, "build")
    gen = subprocess.run([os.path.join(build, "server", "cellgated"), "--help-markdown"],
                         capture_output=True, text=True, check=True, timeout=30).stdout
    with open(MAN) as f:
        text = f.read()
    head, body, tail = split(text)
    new = head + "\n" + gen + "\n" + tail
    if new == text:
        print("%s: OPTIONS up to date" % os.path.relpath(MAN, SRC))
        return
    with open(MAN, "w") as f:
        f.write(new)
    print("%s: OPTIONS rewritten" % os.path.relpath(MAN, SRC))


if __name__ == "__main__":
    main()
