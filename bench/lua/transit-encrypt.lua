-- transit-encrypt: POST transit/encrypt/bench with a fixed 64-byte plaintext (base64).
local token = os.getenv("BENCH_TOKEN")
-- base64 of 64 bytes "strongroom transit bench plaintext, sixty-four bytes long......."
local body = '{"plaintext":"c3Ryb25ncm9vbSB0cmFuc2l0IGJlbmNoIHBsYWludGV4dCwgc2l4dHktZm91ciBieXRlcyBsb25nLi4uLi4uLg=="}'
request = function()
  return wrk.format("POST", "/v1/transit/encrypt/bench", { ["X-Vault-Token"] = token, ["Content-Type"] = "application/json" }, body)
end
