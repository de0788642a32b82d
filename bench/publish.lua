-- SPDX-License-Identifier: MIT
-- bench/publish.lua: wrk script for publish throughput.
-- POST /v1/configs/<PREFIX>-NN/versions with ~DOC_BYTES JSON documents that
-- satisfy the contract made by bench/run.sh (bench_publish), round-robin over
-- NCONFIGS configs. wrk thread t sends to configs t, t+T, t+2T, ... so two
-- threads never race on one config. Every document differs (revision and
-- limits.max_conns change). Only 201 counts as a success.
-- env: CG_TOKEN (required), NCONFIGS (16), DOC_BYTES (2048), PREFIX (bench),
--      BENCH_THREADS (= wrk -t, default 1), TAG (publish), BENCH_DIR (for require "report")
package.path = package.path .. ";" .. (os.getenv("BENCH_DIR") or ".") .. "/?.lua"
require "report"

local nconfigs = tonumber(os.getenv("NCONFIGS") or "16")
local doc_bytes = tonumber(os.getenv("DOC_BYTES") or "2048")
local prefix = os.getenv("PREFIX") or "bench"
function setup(thread) status_setup(thread) end

-- The document: fixed-width varying fields so every one has the same size.
local routes = {}
for i = 1, 8 do
  routes[i] = string.format(
    '{"prefix":"/api/v%d/svc-%02d","upstream":"svc-%02d.internal:8443","timeout_ms":%d,"retries":2,' ..
    '"methods":["GET","POST"],"headers":{"x-cell":"eu-west-1a","x-team":"platform"}}',
    i % 3 + 1, i, i, 250 * i)
end
local head = '{"service":"edge-proxy","revision":%d,"cell":"c%02d","routes":[' ..
  table.concat(routes, ",") ..
  '],"limits":{"max_conns":%d,"max_rps":20000,"burst":400},"flags":{"http3":true,"tls13_only":true},"pad":"'
local tail = '"}'
local pad

local function doc(rev, cfg)
  return string.format(head, 1000000000 + rev, cfg, 10000 + rev % 50000) .. pad .. tail
end

local n = 0
local step, tid0

function init(args)
  local base = #string.format(head, 1000000000, 0, 10000) + #tail
  pad = string.rep("x", math.max(0, doc_bytes - base))
  wrk.method = "POST"
  wrk.headers["Authorization"] = "Bearer " .. assert(os.getenv("CG_TOKEN"), "CG_TOKEN not set")
  wrk.headers["Content-Type"] = "application/json"
  tid0 = tid or 0
  -- wrk.thread count is not visible here; BENCH_THREADS mirrors -t.
  step = tonumber(os.getenv("BENCH_THREADS") or "1")
end

function request()
  local cfg = (n * step + tid0) % nconfigs
  n = n + 1
  local path = string.format("/v1/configs/%s-%02d/versions", prefix, cfg)
  return wrk.format(nil, path, nil, doc(n, cfg))
end

local shown = false
local seen = {}  -- "config/number" of every 201 this thread got
dup201 = 0       -- 201s that named a version another 201 already named
function response(status, headers, body)
  status_count(status)
  if status == 201 then
    local cfg, num = string.match(body or "", '"config":"([^"]*)","number":(%d+)')
    if cfg then
      local key = cfg .. "/" .. num
      if seen[key] then dup201 = dup201 + 1 end
      seen[key] = true
    end
  end
  if status ~= 201 and not shown then -- first failure per thread, for diagnosis
    shown = true
    io.stderr:write("publish.lua: HTTP " .. status .. ": " .. string.sub(body or "", 1, 600) .. "\n")
  end
end

function done(summary, latency, requests)
  local dups = 0
  for _, t in ipairs(status_threads()) do dups = dups + (t:get("dup201") or 0) end
  status_report(summary, latency, os.getenv("TAG") or "publish", 201, "dup201=" .. dups)
end
