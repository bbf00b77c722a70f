-- wrk script of benchmarks/bench_web.py: GET a random path from a file, count statuses,
-- print the latency percentiles as one JSON line at the end.
--
--   wrk -t1 -c50 -d20s --timeout 30s -s benchmarks/wrk_paths.lua \
--       -H "Authorization: Bearer $TOKEN" http://127.0.0.1:8000 -- paths.txt
--
-- paths.txt holds one request path per line (/firm/<id>, /warnings?page=<k> …). Headers
-- given with -H (the API token) go with every request. Each wrk thread reads the file and
-- seeds its own generator; the statuses of all threads are summed in done().

local paths = {}
counts = {}  -- global: done() reads it from each thread with thread:get
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("seed", #threads)
end

function init(args)
  local file = args[1] or error("usage: wrk ... -s wrk_paths.lua URL -- paths.txt")
  for line in io.lines(file) do
    if #line > 0 then
      paths[#paths + 1] = line
    end
  end
  if #paths == 0 then
    error("no paths in " .. file)
  end
  math.randomseed(7919 * seed + os.time())
end

function request()
  return wrk.format("GET", paths[math.random(#paths)])
end

function response(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

function done(summary, latency, requests)
  local statuses = {}
  for _, thread in ipairs(threads) do
    local c = thread:get("counts") or {}
    for status, n in pairs(c) do
      statuses[status] = (statuses[status] or 0) + n
    end
  end
  local parts = {}
  for status, n in pairs(statuses) do
    parts[#parts + 1] = string.format('"%d": %d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %d, "duration_us": %d, "bytes": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"statuses": {%s}}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.status, e.timeout, table.concat(parts, ", ")))
end
