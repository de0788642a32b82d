-- SPDX-License-Identifier: MIT
-- bench/peers/etcd_put.lua: wrk script for etcd's v3 gateway: every request
-- is POST /v3/kv/put of a value of VSIZE bytes (default 2048) to one of
-- NKEYS keys per wrk thread (default 10000), "cfg/cell-<thread>-<n>", so
-- puts are spread over many keys like publishes over many configs. etcd
-- fsyncs its WAL before it answers. TAG names the RESULT line (report.lua).
--   VSIZE=2048 TAG=etcd_put_v2048 wrk -t2 -c16 -d10s --latency -s etcd_put.lua \
--     http://127.0.0.1:23790/v3/kv/put

local here = debug.getinfo(1, "S").source:match("^@(.*)/[^/]*$") or "."
package.path = (os.getenv("PEERS_DIR") or here) .. "/?.lua;" .. package.path
require "report"

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

-- Standard base64 (RFC 4648, with padding), which the gateway expects for
-- keys and values. Three bytes make a 24-bit number, cut into four 6-bit
-- digits.
local function base64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local d1 = math.floor(n / 262144) % 64
    local d2 = math.floor(n / 4096) % 64
    local d3 = math.floor(n / 64) % 64
    local d4 = n % 64
    out[#out + 1] = alphabet:sub(d1 + 1, d1 + 1)
      .. alphabet:sub(d2 + 1, d2 + 1)
      .. (b and alphabet:sub(d3 + 1, d3 + 1) or "=")
      .. (c and alphabet:sub(d4 + 1, d4 + 1) or "=")
  end
  return table.concat(out)
end

-- setup() runs in wrk's main state once per thread: number the threads.
local threads = 0
function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

-- The rest runs in each thread's own state.
local value, nkeys
local sent = 0

function init(args)
  value = base64(string.rep("x", tonumber(os.getenv("VSIZE") or "2048")))
  nkeys = tonumber(os.getenv("NKEYS") or "10000")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
end

function request()
  sent = sent + 1
  local key = base64(string.format("cfg/cell-%d-%06d", tid or 0, sent % nkeys))
  return wrk.format(nil, nil, nil, '{"key":"' .. key .. '","value":"' .. value .. '"}')
end

function done(summary, latency, requests)
  peer_report(os.getenv("TAG") or "etcd_put", summary, latency)
end
