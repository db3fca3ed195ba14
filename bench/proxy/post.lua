-- wrk script of the proxy benchmark's cross-check (bench/proxy/run.mjs): POSTs the body
-- in the file named by the environment variable PROXY_BENCH_BODY, with the header
-- PROXY_BENCH_AUTH (a whole "Name: value" line) when it is set.
local file = assert(io.open(os.getenv("PROXY_BENCH_BODY"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
local auth = os.getenv("PROXY_BENCH_AUTH")
if auth and auth ~= "" then
  local name, value = auth:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end
