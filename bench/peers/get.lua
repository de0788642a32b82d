-- SPDX-License-Identifier: MIT
-- bench/peers/get.lua: wrk script for the nginx peer: a plain GET of the URL
-- on the command line (with any -H headers, e.g. If-None-Match for the 304
-- figure), reported as one RESULT line (report.lua). TAG names the line.
--   TAG=nginx_tuned_304 wrk -t2 -c64 -d10s --latency -s get.lua \
--     -H 'If-None-Match: "<etag>"' http://127.0.0.1:18080/cell.json
-- A 304 is a success for wrk (only statuses of 400 and above are errors).

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = (os.getenv("PEERS_DIR") or here) .. "/?.lua;" .. package.path
require "report"

function done(summary, latency, requests)
  peer_report(os.getenv("TAG") or "get", summary, latency)
end
