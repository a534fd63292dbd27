-- kv-read: GET secret/data/bench/k<i>, rotating over the fixture keys.
local token = os.getenv("BENCH_TOKEN")
local keys = tonumber(os.getenv("BENCH_KEYS") or "100")
local counter = 0
request = function()
  counter = counter + 1
  local path = "/v1/secret/data/bench/k" .. (counter % keys)
  return wrk.format("GET", path, { ["X-Vault-Token"] = token })
end
