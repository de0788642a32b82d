-- SPDX-License-Identifier: MIT
-- bench/ofrep.lua: wrk script for POST /ofrep/v1/evaluate/flags (bench_flags):
-- every request the same bulk evaluation (BODY), with If-None-Match and the
-- token from the wrk command line (-H); counts statuses.
-- env: BODY, EXPECT (304 or 200), TAG, BENCH_DIR (for require "report")
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
require "report"

wrk.method = "POST"
wrk.body = os.getenv("BODY") or '{"context":{}}'
wrk.headers["Content-Type"] = "application/json"
local expect = tonumber(os.getenv("EXPECT") or "304")
function setup(thread) status_setup(thread) end
function response(status, headers, body) status_count(status) end
function done(summary, latency, requests)
  status_report(summary, latency, os.getenv("TAG") or "ofrep", expect)
end
