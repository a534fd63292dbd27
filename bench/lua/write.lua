-- kv-write: POST secret/data/bench/w<thread>-<i> with a fresh ~200-byte value (durable writes).
local token = os.getenv("BENCH_TOKEN")
local counter = 0
local id = tostring(math.random(1, 1000000000))
local pad = string.rep("x", 180)
request = function()
  counter = counter + 1
  local path = "/v1/secret/data/bench/w" .. id .. "-" .. (counter % 1000)
  local body = '{"data":{"value":"' .. pad .. counter .. '"}}'
  return wrk.format("POST", path, { ["X-Vault-Token"] = token, ["Content-Type"] = "application/json" }, body)
end
