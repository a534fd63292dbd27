-- db-creds: GET database/creds/<role> (bench/leases, part c). Each request issues a real
-- PostgreSQL user on a 1 h lease. BENCH_PATH is the path after /v1/, e.g.
-- database/creds/cb1a2b. The request is built once, as in read.lua.
local token = os.getenv("BENCH_TOKEN")
local path = os.getenv("BENCH_PATH")
local req
init = function(args)
  req = wrk.format("GET", "/v1/" .. path, { ["X-Vault-Token"] = token })
end
request = function()
  return req
end
