-- token-create: POST auth/token/create (a child token with one policy, 1h TTL; durable).
-- The request is built once, as in read.lua.
local token = os.getenv("BENCH_TOKEN")
local req
init = function(args)
  req = wrk.format("POST", "/v1/auth/token/create",
    { ["X-Vault-Token"] = token, ["Content-Type"] = "application/json" },
    '{"policies":["bench-read"],"ttl":"1h"}')
end
request = function()
  return req
end
