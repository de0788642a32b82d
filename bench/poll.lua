-- SPDX-License-Identifier: MIT
-- bench/poll.lua: wrk script for GET /v1/agent/desired (bench_poll).
-- The URL, the agent token and If-None-Match come from the wrk command line
-- (-H), so every request is the same; this script only counts statuses.
-- env: EXPECT (the status that counts as a success: 304 or 200), TAG,
--      BENCH_DIR (for require "report")
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
require "report"

local expect = tonumber(os.getenv("EXPECT") or "304")
function setup(thread) status_setup(thread) end
function response(status, headers, body) status_count(status) end
function done(summary, latency, requests)
  status_report(summary, latency, os.getenv("TAG") or "poll", expect)
end
