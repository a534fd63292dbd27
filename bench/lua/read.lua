-- kv-read: GET secret/data/bench/k<i>, rotating over the fixture keys. The requests are
-- built once in init() (wrk.format per request would cost the load generator, which
-- shares the machine with the server, more CPU than necessary).
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
