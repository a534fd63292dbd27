-- kv-read in short windows (bench/leases, part b): the requests of read.lua, plus a done()
-- that prints one line "WINDOW {json}" with the request count, errors and a quantile
-- sketch of the latency (microseconds at 0.25% steps to p99, then 0.05% steps to the
-- max), so bench/leases can merge consecutive windows into one distribution and keep
-- only the windows that overlap the revocation storm.
local token = os.getenv("BENCH_TOKEN")
local keys = tonumber(os.getenv("BENCH_KEYS") or "100")
local requests = {}
local counter = 0
init = function(args)
  for i = 0, keys - 1 do
    requests[i] = wrk.format("GET", "/v1/secret/data/bench/k" .. i, { ["X-Vault-Token"] = token })
  end
end
request = function()
  counter = counter + 1
  return requests[counter % keys]
end
done = function(summary, latency, _requests)
  local qs = {}
  local q = 0.25
  while q < 99 do
    qs[#qs + 1] = q
    q = q + 0.25
  end
  q = 99
  while q < 100 do
    qs[#qs + 1] = q
    q = q + 0.05
  end
  local parts = {}
  for _, p in ipairs(qs) do
    parts[#parts + 1] = string.format("[%.2f,%d]", p, latency:percentile(p))
  end
  parts[#parts + 1] = string.format("[100,%d]", latency.max)
  local e = summary.errors
  io.write(string.format(
    'WINDOW {"requests":%d,"duration_us":%d,"errors":%d,"min":%d,"max":%d,"quantiles":[%s]}\n',
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency.min, latency.max, table.concat(parts, ",")))
end
