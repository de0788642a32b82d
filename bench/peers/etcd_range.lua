-- SPDX-License-Identifier: MIT
-- bench/peers/etcd_range.lua: wrk script for etcd's v3 gateway: every
-- request is POST /v3/kv/range of the key "cfg/cell-doc" (bench/run.sh puts
-- a 2 KB value there first). SERIAL=1 asks for a serializable read, which
-- the member answers from its own state; otherwise the read is
-- linearizable. TAG names the RESULT line (report.lua).
--   SERIAL=1 wrk -t2 -c64 -d10s --latency -s etcd_range.lua http://127.0.0.1:23790/v3/kv/range

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = (os.getenv("PEERS_DIR") or here) .. "/?.lua;" .. package.path
require "report"

local serial = os.getenv("SERIAL") == "1"
local key_b64 = "Y2ZnL2NlbGwtZG9j" -- "cfg/cell-doc"

wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
if serial then
  wrk.body = '{"key":"' .. key_b64 .. '","serializable":true}'
else
  wrk.body = '{"key":"' .. key_b64 .. '"}'
end

function done(summary, latency, requests)
  local default = serial and "etcd_range_serializable" or "etcd_range_linearizable"
  peer_report(os.getenv("TAG") or default, summary, latency)
end
