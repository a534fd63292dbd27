-- token-create: POST auth/token/create (a child token with one policy, 1h TTL; durable).
local token = os.getenv("BENCH_TOKEN")
local body = '{"policies":["bench-read"],"ttl":"1h"}'
request = function()
  return wrk.format("POST", "/v1/auth/token/create",
    { ["X-Vault-Token"] = token, ["Content-Type"] = "application/json" }, body)
end
