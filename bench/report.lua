-- SPDX-License-Identifier: MIT
-- bench/report.lua: shared pieces for wrk scripts (require "report").
-- Same RESULT line as the peer scripts (bench/peers/report.lua) plus
-- per-status counts, so cellgate and peer runs compare field by field.
--
--   status_setup(thread)   call from setup(): keeps the thread for done(),
--                          sets the thread's global tid (0, 1, ...)
--   status_threads()       the threads, in done(): t:get("var") reads a global
--   status_count(status)   call from response(): counts one status code
--   status_report(summary, latency, tag, ok_status [, extra])
--                          call from done(): prints (extra = "k=v ..." appended)
--   RESULT tag=.. req=.. ok=.. dur_s=.. rps=.. (ok per second) p50_ms=.. ...
--          err_connect=.. err_read=.. err_write=.. err_status=.. err_timeout=..
--          not_ok=.. codes=201:N,409:M

local threads = {}

function status_setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function status_threads() return threads end

codes = {}
function status_count(status)
  codes[status] = (codes[status] or 0) + 1
end

function status_report(summary, latency, tag, ok_status, extra)
  local all = {}
  for _, t in ipairs(threads) do
    for code, n in pairs(t:get("codes") or {}) do all[code] = (all[code] or 0) + n end
  end
  local ok, not_ok, keys = 0, 0, {}
  for code, n in pairs(all) do
    table.insert(keys, code)
    if code == ok_status then ok = ok + n else not_ok = not_ok + n end
  end
  table.sort(keys)
  local parts = {}
  for _, code in ipairs(keys) do table.insert(parts, code .. ":" .. all[code]) end
  local s, e = summary, summary.errors
  local dur = s.duration / 1e6
  io.write(string.format(
    "RESULT tag=%s req=%d ok=%d dur_s=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d not_ok=%d codes=%s%s\n",
    tag, s.requests, ok, dur, ok / dur,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout, not_ok,
    #parts > 0 and table.concat(parts, ",") or "none", extra and (" " .. extra) or ""))
end
