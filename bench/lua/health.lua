-- health: GET sys/health, no token, no storage. The cost of the HTTP layer alone: the
-- ceiling any request can reach on this machine with this load generator.
request = function()
  return wrk.format("GET", "/v1/sys/health")
end
