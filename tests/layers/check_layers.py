#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""The server's rooms point one way (docs/architecture.md, "Layers").

Reads the build's compile_commands.json and checks, for every C file of the
server, the CLI, the agent and the simulator, that its include path holds no
folder of a layer above its own: then a lower layer that includes a higher
one's header cannot compile. (The build enforces it through the libraries'
link lists in server/CMakeLists.txt; this test fails if someone widens them.)

Also checks that the layer graph the include paths give has no circle, and
that every server folder is in the table below (a new room must be placed).

Usage: check_layers.py BUILD_DIR SOURCE_DIR
"""
import json
import os
import sys

# Top to bottom. A layer may see itself and anything below it.
LAYERS = ["server", "server/http", "server/web", "server/api", "server/drill", "server/request", "server/ops", "server/cluster",
          "server/rollout", "server/replica", "server/fleet", "server/flags", "server/hooks", "server/store", "server/notify", "server/stats"]
# Rooms that must not see each other although the order would let the
# higher see the lower: the dashboard (server/web) calls ops and the fleet
# directly, never the JSON API; both answer through server/request.
APART = {"server/web": ["server/api"]}
# Private sub-rooms: visible only inside their parent room.
PRIVATE = {"server/store/sqlite": "server/store", "server/store/pg": "server/store"}
# Programs that must not see any server folder.
PROGRAMS = ["cli", "agent", "sim", "lib"]


def layer_of(rel):
    """The room of a source file (relative path), or None."""
    d = os.path.dirname(rel)
    if d in PRIVATE:
        return PRIVATE[d]
    if d in LAYERS or d in PROGRAMS:
        return d
    return None


def include_dirs(entry, src):
    args = entry.get("arguments") or entry["command"].split()
    out = []
    for i, a in enumerate(args):
        if a.startswith("-I") and len(a) > 2:
            out.append(a[2:])
        elif a in ("-I", "-isystem") and i + 1 < len(args):
            out.append(args[i + 1])
    rel = []
    for d in out:
        d = os.path.relpath(os.path.realpath(d), src)
        rel.append(d)
    return rel


def main():
    build, src = sys.argv[1], os.path.realpath(sys.argv[2])
    with open(os.path.join(build, "compile_commands.json")) as f:
        db = json.load(f)
    errors = []
    sees = {}
    seen_rooms = set()
    for e in db:
        path = os.path.realpath(os.path.join(e["directory"], e["file"]))
        rel = os.path.relpath(path, src)
        if rel.startswith(("tests/", "bench/", "..")):
            continue
        room = layer_of(rel)
        if room is None:
            continue
        seen_rooms.add(os.path.dirname(rel))
        for d in include_dirs(e, src):
            target = PRIVATE.get(d, d) if d in PRIVATE else d
            if d in PRIVATE and PRIVATE[d] != room:
                errors.append("%s: sees %s, private to %s" % (rel, d, PRIVATE[d]))
                continue
            if target not in LAYERS:
                continue
            if room in PROGRAMS:
                errors.append("%s: the program %s sees the server folder %s" % (rel, room, d))
                continue
            if target != room:
                sees.setdefault(room, set()).add(target)
            if target in APART.get(room, ()):
                errors.append("%s (layer %s) sees %s, which it must not use" % (rel, room, target))
            if LAYERS.index(target) < LAYERS.index(room):
                errors.append("%s (layer %s) sees the higher layer %s" % (rel, room, target))
    # every server folder with C files must be placed
    for root, _, files in os.walk(os.path.join(src, "server")):
        if any(f.endswith(".c") for f in files):
            d = os.path.relpath(root, src)
            if d not in LAYERS and d not in PRIVATE:
                errors.append("server folder %s is not in the layer table of %s" % (d, __file__))
    # no circle in the graph of rooms
    state = {}

    def visit(n, stack):
        state[n] = 1
        for m in sorted(sees.get(n, ())):
            if state.get(m) == 1:
                errors.append("circle: " + " -> ".join(stack + [n, m]))
            elif not state.get(m):
                visit(m, stack + [n])
        state[n] = 2

    for n in sorted(sees):
        if not state.get(n):
            visit(n, [])
    if not seen_rooms:
        errors.append("no server file found in compile_commands.json")
    for line in errors:
        print("layers: " + line)
    if errors:
        return 1
    for room in LAYERS:
        print("%-16s sees %s" % (room, ", ".join(sorted(sees.get(room, ()))) or "-"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
