#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_exports.py: libcellgate.so exports exactly the CG_API functions of
include/cellgate/cellgate.h, nothing of common/ or lib/'s internals.

Usage: check_exports.py LIBCELLGATE.so HEADER

Lists the shared library's defined dynamic symbols with `nm -D
--defined-only` and the functions the header declares with CG_API, and
fails naming every symbol in one list and not the other; also checks the
SONAME is libcellgate.so.0 (objdump -p).
"""
import re
import subprocess
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: check_exports.py LIB HEADER")
    lib, header = sys.argv[1], sys.argv[2]
    text = open(header, encoding="utf-8").read()
    # "CG_API <type> <name>(" where the type may hold '*' and several words
    declared = set(re.findall(r"^CG_API\s[^;(]*?\b(cg_\w+)\s*\(", text, re.M))
    if len(declared) < 10:
        sys.exit("found only %d CG_API declarations in %s: the pattern is wrong" %
                 (len(declared), header))
    nm = subprocess.run(["nm", "-D", "--defined-only", lib], capture_output=True, text=True,
                        timeout=60)
    if nm.returncode != 0:
        sys.exit("nm failed: %s" % nm.stderr)
    exported = set()
    for line in nm.stdout.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "TtWwDdBbRrVvi":
            exported.add(parts[2].split("@")[0])
    failures = []
    extra = sorted(exported - declared)
    missing = sorted(declared - exported)
    if extra:
        failures.append("exported but not CG_API in the header (internal symbols leak into "
                        "the ABI): " + " ".join(extra))
    if missing:
        failures.append("declared CG_API but not exported: " + " ".join(missing))
    od = subprocess.run(["objdump", "-p", lib], capture_output=True, text=True, timeout=60)
    soname = re.search(r"SONAME\s+(\S+)", od.stdout)
    if not soname or soname.group(1) != "libcellgate.so.0":
        failures.append("SONAME is %s, not libcellgate.so.0" %
                        (soname.group(1) if soname else "missing"))
    if failures:
        sys.exit("\n".join(failures))
    print("exports: %d functions, exactly the header's CG_API declarations; SONAME %s" %
          (len(exported), soname.group(1)))


if __name__ == "__main__":
    main()
