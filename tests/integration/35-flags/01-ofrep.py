# SPDX-License-Identifier: MIT
"""OFREP (OpenFeature Remote Evaluation Protocol) against a real cellgated:
single and bulk evaluation in OFREP's shapes and status codes, Bearer and
X-API-Key, the caller's cell (an agent token's own, or named in the context
by other roles), errors in OFREP's shape (also the transport's 401), the
bulk ETag and 304, and flags moving by cell: a new version assigned to one
cell changes that cell's answers only."""
import os, sys
sys.path.insert(0, os.path.dirname(__file__))
import flagkit as fk
from flagkit import h

CELLS = [("c1", "r1", "z1"), ("c2", "r1", "z2")]
n = 0

with h.Server() as s:
    fk.setup(s, CELLS)
    ag1 = fk.token(s, "app-c1", "agent", "c1")
    rd = fk.token(s, "dash", "reader")

    # single evaluation, agent token: the cell is the token's
    st, _, b = fk.ofrep(s, "new-checkout", {"targetingKey": "u1", "email": "a@example.com"}, ag1)
    h.check(st == 200 and b["key"] == "new-checkout" and b["value"] is True
            and b["variant"] == "on" and b["reason"] == "TARGETING_MATCH"
            and b["metadata"]["team"] == "checkout" and "errorCode" not in b,
            "targeting match: %s %s" % (st, b)); n += 1
    st, _, b = fk.ofrep(s, "new-checkout", {"targetingKey": "u1", "email": "a@other.org"}, ag1)
    h.check(st == 200 and b["value"] is False and b["reason"] == "DEFAULT"
            and b["variant"] == "off", "default: %s %s" % (st, b)); n += 1
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1"}, ag1)
    h.check(st == 200 and b["value"] == "blue" and b["reason"] == "STATIC", "static %s" % b); n += 1
    st, _, b = fk.ofrep(s, "limits", {}, ag1)
    h.check(st == 200 and b["value"] == {"x": 1} and b["metadata"]["team"] == "checkout"
            and b["metadata"]["owner"] == "payments",
            "object + merged metadata: %s" % b); n += 1
    st, _, b = fk.ofrep(s, "max-items", {"targetingKey": "user-42"}, ag1)
    h.check(st == 200 and b["value"] in (10, 100) and b["reason"] == "TARGETING_MATCH", "fractional %s" % b)
    n += 1
    # a disabled flag: 200, reason DISABLED and no value: the caller's code default
    st, _, b = fk.ofrep(s, "old-thing", {"targetingKey": "u1"}, ag1)
    h.check(st == 200 and b["reason"] == "DISABLED" and "value" not in b,
            "disabled: %s %s" % (st, b)); n += 1
    # errors in OFREP's shape
    st, _, b = fk.ofrep(s, "nope", {"targetingKey": "u1"}, ag1)
    h.check(st == 404 and b["key"] == "nope" and b["errorCode"] == "FLAG_NOT_FOUND"
            and b.get("errorDetails"), "not found: %s %s" % (st, b)); n += 1
    st, _, b = fk.ofrep(s, "theme", None, ag1, raw="{not json")
    h.check(st == 400 and b["errorCode"] == "PARSE_ERROR", "parse error: %s %s" % (st, b)); n += 1
    st, _, b = fk.ofrep(s, "theme", None, ag1, raw='{"context": 3}')
    h.check(st == 400 and b["errorCode"] == "INVALID_CONTEXT", "context 3: %s %s" % (st, b))
    n += 1
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1"}, None)
    h.check(st == 401 and "errorDetails" in b and "error" not in b,
            "401 in OFREP's shape: %s %s" % (st, b)); n += 1
    # X-API-Key instead of Authorization
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1"}, None, headers={"X-API-Key": ag1})
    h.check(st == 200 and b["value"] == "blue", "X-API-Key: %s %s" % (st, b)); n += 1
    # another role names the cell in the context (or X-Cellgate-Cell)
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1"}, rd)
    h.check(st == 400 and b["errorCode"] == "INVALID_CONTEXT" and "cell" in b["errorDetails"],
            "reader without a cell: %s %s" % (st, b)); n += 1
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1", "cellgate.cell": "c2"}, rd)
    h.check(st == 200 and b["value"] == "blue", "reader, context cell: %s %s" % (st, b)); n += 1
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1"}, rd, headers={"X-Cellgate-Cell": "c2"})
    h.check(st == 200 and b["value"] == "blue", "reader, header cell: %s %s" % (st, b)); n += 1
    # an agent of c1 cannot read c2's flags by naming c2
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1", "cellgate.cell": "c2"}, ag1)
    h.check(st == 200, "agent: the token's cell wins: %s" % st)

    # bulk: every flag, ETag, 304 on If-None-Match
    st, hd, b = fk.ofrep(s, None, {"targetingKey": "u1", "email": "a@example.com"}, ag1)
    keys = sorted(f["key"] for f in b["flags"])
    h.check(st == 200 and keys == ["limits", "max-items", "new-checkout", "old-thing", "theme"]
            and hd.get("etag", "").startswith('"'), "bulk: %s %s %s" % (st, hd, b)); n += 1
    etag = hd["etag"]
    st, hd2, b = fk.ofrep(s, None, {"targetingKey": "u1", "email": "a@example.com"}, ag1,
                          headers={"If-None-Match": etag})
    h.check(st == 304 and hd2.get("etag") == etag, "bulk 304: %s %s" % (st, hd2)); n += 1
    st, hd3, b = fk.ofrep(s, None, {"targetingKey": "u2"}, ag1, headers={"If-None-Match": etag})
    h.check(st == 200 and hd3["etag"] != etag, "another context, another answer: %s" % st); n += 1

    # flags move by cell: version 2 (theme red) on c1 only
    v2 = fk.publish(s, "checkout-flags", fk.flag_doc(theme="red"))
    st, b = s.api("POST", "/v1/configs/checkout-flags/assign",
                  {"version": v2, "cells": ["c1"], "force": True, "reason": "canary"})
    h.check(st in (200, 201), "assign v2 to c1: %s %s" % (st, b))
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1"}, ag1)
    h.check(b["value"] == "red", "c1 runs v2: %s" % b); n += 1
    st, _, b = fk.ofrep(s, "theme", {"targetingKey": "u1", "cellgate.cell": "c2"}, rd)
    h.check(b["value"] == "blue", "c2 still runs v1: %s" % b); n += 1
    st, hd4, b = fk.ofrep(s, None, {"targetingKey": "u1", "email": "a@example.com"}, ag1,
                          headers={"If-None-Match": etag})
    h.check(st == 200 and hd4["etag"] != etag, "bulk after the change: %s" % st); n += 1

    # the same through the CLI: flag eval as the cell's hosts see it
    r = s.cli("flag", "eval", "checkout-flags", "theme", "--cell", "c2", "--context",
              '{"targetingKey":"u1"}', "--json")
    h.check(r.returncode == 0, "flag eval: %s" % r.stderr)
    import json
    j = json.loads(r.stdout)
    h.check(j["value"] == "blue" and j["reason"] == "STATIC" and j["version"] == 1,
            "flag eval c2: %s" % j); n += 1
    r = s.cli("flag", "list", "checkout-flags", "--cell", "c1")
    h.check(r.returncode == 0 and "theme" in r.stdout and "old-thing" in r.stdout
            and "DISABLED" in r.stdout and "version 2" in r.stdout, "flag list: %r" % r.stdout)
    n += 1
    r = s.cli("flag", "get", "checkout-flags", "limits", "--json")
    h.check(r.returncode == 0 and json.loads(r.stdout)["flag"]["defaultVariant"] == "a",
            "flag get: %s %s" % (r.stdout, r.stderr)); n += 1
    st, _, m = s.request("GET", "/metrics")
    h.check(b'cellgate_flags_evaluations_total{result="ok"}' in m, "flags metrics"); n += 1

h.done("01-ofrep", n)
