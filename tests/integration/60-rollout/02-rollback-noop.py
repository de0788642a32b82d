# SPDX-License-Identifier: MIT
"""A rollback with nothing to undo (no open rollout, every cell already on
the target) is refused instead of re-assigning the same version, and so is
one without a live version to return to. (Rolling back an open rollout is
tested in test_controller and 40-cli/23-abort-rollback.py.)"""
import os, sys, time
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h

with h.Server(extra_args=["--tick-ms", "50"]) as s:
    for c in ["a1", "a2"]:
        s.api("POST", "/v1/cells", {"id": c, "region": "r", "zone": "z" + c})
    s.api("PUT", "/v1/plans/p", {"waves": [{"name": "all", "percent": 100, "bake_s": 0}]})
    s.api("POST", "/v1/configs", {"name": "app", "contract": {}, "plan": "p"})
    s.api("POST", "/v1/configs/app/versions", {"v": 1})
    st, b = s.api("POST", "/v1/configs/app/assign", {"version": 1, "cells": ["a1", "a2"], "force": True})
    h.check(st == 201, "assign %s" % b)
    st, b = s.api("POST", "/v1/configs/app/rollback", {"to_version": 1, "reason": "noop"})
    h.check(st == 409 and "nothing to roll back" in b["error"]["message"], "noop rollback: %s %s" % (st, b))
    st, b = s.api("POST", "/v1/configs/app/rollback", {"reason": "no live"})
    h.check(st == 409, "rollback without a live version: %s %s" % (st, b))
h.done("rollback-noop", 2)
