#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""bench/wal_pages.py DB: where the bytes of each commit go.

DB is a copy of a cellgated database taken with its -wal file while the
server was stopped (kill -STOP, cp db db-wal, kill -CONT). Reads the WAL's
current generation (frames whose salts match the header), splits it into
commits (a frame with a non-zero "database size" ends one), and names each
frame's page with the dbstat virtual table of the copy (table, index,
overflow). Prints frames per commit and, per B-tree, the pages it puts in
the average commit. Used for docs/internals/STORE.md "Where the bytes of a
publish go"; not part of any test.
"""
import collections
import sqlite3
import struct
import sys


def frames(wal_path):
    with open(wal_path, "rb") as f:
        data = f.read()
    magic, ver, psz, ckseq, salt1, salt2 = struct.unpack(">IIIIII", data[:24])
    out, off = [], 32
    while off + 24 + psz <= len(data):
        pg, commit, s1, s2 = struct.unpack(">IIII", data[off:off + 16])
        if (s1, s2) != (salt1, salt2):
            break
        out.append((pg, commit))
        off += 24 + psz
    return psz, out


def main():
    db = sys.argv[1]
    psz, fr = frames(db + "-wal")
    con = sqlite3.connect(db)
    owner = {}
    for name, pageno, ptype in con.execute("SELECT name, pageno, pagetype FROM dbstat"):
        owner[pageno] = name + ("(ovfl)" if ptype == "overflow" else "")
    owner[1] = owner.get(1, "?") + "+hdr"
    commits, cur = [], []
    for pg, commit in fr:
        cur.append(pg)
        if commit:
            commits.append(cur)
            cur = []
    if not commits:
        print("no complete commit in the WAL")
        return
    per = collections.Counter()
    dup = 0
    for c in commits:
        dup += len(c) - len(set(c))
        for pg in set(c):
            per[owner.get(pg, "new/free")] += 1
    n = len(commits)
    nf = sum(len(c) for c in commits)
    print(f"page_size={psz} commits={n} frames={nf} frames_per_commit={nf / n:.1f} "
          f"wal_bytes_per_commit={nf * (psz + 24) / n:.0f} repeated_frames={dup}")
    for name, k in per.most_common():
        print(f"  {name:40s} {k / n:6.2f} pages/commit")


main()
