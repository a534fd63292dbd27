-- health: GET sys/health, no token, no storage. The cost of the HTTP layer alone: the
-- ceiling any request can reach on this machine with this load generator. The request
-- is built once, as in read.lua.
local req
init = function(args)
  req = wrk.format("GET", "/v1/sys/health")
end
request = function()
  return req
end
