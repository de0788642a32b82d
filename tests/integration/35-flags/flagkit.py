# SPDX-License-Identifier: MIT
"""Shared pieces of the flag tests (35-flags): a flagd document, setting up
a fleet with a flags config, OFREP calls."""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import harness as h  # noqa: E402


def flag_doc(theme="blue", checkout_state="ENABLED"):
    """A flagd flag-definition document with one flag of each kind."""
    return {
        "flags": {
            "new-checkout": {
                "state": checkout_state,
                "variants": {"on": True, "off": False},
                "defaultVariant": "off",
                "targeting": {"if": [{"ends_with": [{"var": "email"}, "@example.com"]},
                                     "on", None]},
            },
            "theme": {"state": "ENABLED", "variants": {"blue": "blue", "red": "red"},
                      "defaultVariant": theme},
            "max-items": {"state": "ENABLED", "variants": {"low": 10, "high": 100},
                          "defaultVariant": "low",
                          "targeting": {"fractional": [["low", 50], ["high", 50]]}},
            "limits": {"state": "ENABLED", "variants": {"a": {"x": 1}, "b": {"x": 2}},
                       "defaultVariant": "a", "metadata": {"owner": "payments"}},
            "old-thing": {"state": "DISABLED", "variants": {"on": True, "off": False},
                          "defaultVariant": "off"},
        },
        "metadata": {"team": "checkout"},
    }


def setup(s, cells, config="checkout-flags", plan=None):
    """Cells (id, region, zone), a flags config, version 1 on every cell."""
    for c, reg, z in cells:
        st, b = s.api("POST", "/v1/cells", {"id": c, "region": reg, "zone": z})
        h.check(st == 201, "cell %s: %s %s" % (c, st, b))
    body = {"name": config, "kind": "flags", "contract": {"max_bytes": 65536}}
    if plan:
        st, b = s.api("PUT", "/v1/plans/%s" % plan[0], plan[1])
        h.check(st in (200, 201), "plan %s %s" % (st, b))
        body["plan"] = plan[0]
    st, b = s.api("POST", "/v1/configs", body)
    h.check(st == 201, "flags config: %s %s" % (st, b))
    v = publish(s, config, flag_doc())
    st, b = s.api("POST", "/v1/configs/%s/assign" % config,
                  {"version": v, "cells": [c for c, _, _ in cells], "force": True,
                   "reason": "first flags"})
    h.check(st in (200, 201), "assign %s %s" % (st, b))
    return v


def publish(s, config, doc, msg="flags"):
    st, _, b = s.request("POST", "/v1/configs/%s/versions?message=%s" % (config, msg),
                         json.dumps(doc))
    h.check(st == 201, "publish: %s %s" % (st, b))
    return json.loads(b)["number"]


def token(s, name, role, cell=None):
    body = {"name": name, "role": role}
    if cell:
        body["cell"] = cell
    st, b = s.api("POST", "/v1/tokens", body)
    h.check(st == 201, "token %s: %s %s" % (name, st, b))
    return b["token"]


def ofrep(s, key, context, token, headers=None, raw=None):
    """POST /ofrep/v1/evaluate/flags[/key]: (status, headers, parsed body)."""
    path = "/ofrep/v1/evaluate/flags" + ("/" + key if key else "")
    body = raw if raw is not None else json.dumps({"context": context})
    st, hd, data = s.request("POST", path, body, token,
                             dict({"Content-Type": "application/json"}, **(headers or {})))
    try:
        return st, hd, json.loads(data) if data else None
    except ValueError:
        return st, hd, data
