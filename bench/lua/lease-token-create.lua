-- lease-token-create: POST auth/token/create with a 24 h TTL (bench/leases, part a). In
-- OpenBao every such token is also a lease in its expiration manager, which loads all of
-- them at unseal: the cheapest way to give it many leases. The request is built once.
local token = os.getenv("BENCH_TOKEN")
local req
init = function(args)
  req = wrk.format("POST", "/v1/auth/token/create",
    { ["X-Vault-Token"] = token, ["Content-Type"] = "application/json" },
    '{"policies":["default"],"ttl":"24h"}')
end
request = function()
  return req
end
