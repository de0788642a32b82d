-- SPDX-License-Identifier: MIT
-- bench/peers/report.lua: the result line of every peer wrk script.
--
-- A script loads it with
--   package.path = (os.getenv("PEERS_DIR") or "<its own folder>") .. "/?.lua;" .. package.path
--   require "report"
-- and calls peer_report(tag, summary, latency) from wrk's done(). It prints
-- one line that bench/run.sh reads field by field (kv LINE KEY), the same
-- fields as cellgate's own bench/report.lua:
--   RESULT tag=T req=N dur_s=S rps=R p50_ms= p90_ms= p99_ms= p999_ms= max_ms=
--          err_connect= err_read= err_write= err_status= err_timeout=
-- wrk measures durations and latencies in microseconds; the line is in
-- seconds and milliseconds. err_status counts answers of 400 and above.

local function ms(us)
  return us / 1000
end

function peer_report(tag, summary, latency)
  local secs = summary.duration / 1e6
  local err = summary.errors
  io.write(string.format(
    "RESULT tag=%s req=%d dur_s=%.2f rps=%.0f p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f"
      .. " p999_ms=%.3f max_ms=%.3f err_connect=%d err_read=%d err_write=%d"
      .. " err_status=%d err_timeout=%d\n",
    tag, summary.requests, secs, summary.requests / secs,
    ms(latency:percentile(50)), ms(latency:percentile(90)), ms(latency:percentile(99)),
    ms(latency:percentile(99.9)), ms(latency.max),
    err.connect, err.read, err.write, err.status, err.timeout))
end
