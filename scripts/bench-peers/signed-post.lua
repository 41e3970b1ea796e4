-- wrk script: POST one signed webhook body with a fresh X-GitHub-Delivery per
-- request (hedgesync drops repeated ids, so each request must be new).
-- BODY_FILE, SIG and EVENT come from the environment, and RUN, a number
-- distinct for every wrk run against one receiver: without it a measured run
-- would repeat the ids of its warm-up, and measure duplicate handling.
local body_file = os.getenv("BODY_FILE")
local f = assert(io.open(body_file, "rb"))
local body = f:read("*a")
f:close()
local sig = os.getenv("SIG")
local event = os.getenv("EVENT") or "push"
local threads = {}
local counter = 0
-- a global, not a local: setup() sets it in each thread's own Lua state
prefix = "00000000"
local run = tonumber(os.getenv("RUN") or "0") % 65536

function setup(thread)
  thread:set("prefix", string.format("%04x%04x", run, #threads + 1))
  table.insert(threads, thread)
end

request = function()
  counter = counter + 1
  local id = string.format("%s-0000-4000-8000-%012x", prefix, counter)
  return wrk.format("POST", nil, {
    ["Content-Type"] = "application/json",
    ["User-Agent"] = "GitHub-Hookshot/bench",
    ["X-GitHub-Event"] = event,
    ["X-GitHub-Delivery"] = id,
    ["X-Hub-Signature-256"] = sig,
  }, body)
end

done = function(summary, latency, requests)
  local non2xx = summary.errors.status
  io.write(string.format("BENCH requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, non2xx,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout))
end
