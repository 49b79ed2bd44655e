-- wrk script for bench/load.sh: POSTs the JSON body in $BENCH_BODY_FILE to the URL given, counts
-- answers that are not HTTP 200 or that carry GraphQL errors (a rate-limited or timed-out query
-- still answers 200), and prints the summary as one JSON line for the script to parse.

local body_file = os.getenv("BENCH_BODY_FILE")
local f = assert(io.open(body_file, "rb"), "cannot open " .. tostring(body_file))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad_status = 0
  graphql_errors = 0
  first_error = nil
end

function response(status, headers, body)
  if status ~= 200 then
    bad_status = bad_status + 1
  end
  -- Plain find: a `"errors":` key in the data itself would be escaped inside a string.
  if body and string.find(body, '"errors":', 1, true) then
    graphql_errors = graphql_errors + 1
    if first_error == nil then
      first_error = string.sub(body, 1, 300)
    end
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, requests)
  local bad, gql, sample = 0, 0, nil
  for _, t in ipairs(threads) do
    bad = bad + (t:get("bad_status") or 0)
    gql = gql + (t:get("graphql_errors") or 0)
    sample = sample or t:get("first_error")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,'
      .. '"p50_us":%d,"p90_us":%d,"p95_us":%d,"p99_us":%d,"max_us":%d,"mean_us":%.1f,'
      .. '"connect":%d,"read":%d,"write":%d,"timeout":%d,"status":%d,'
      .. '"non_200":%d,"graphql_errors":%d,"first_error":%s}\n',
    summary.requests, summary.duration, summary.bytes,
    latency:percentile(50), latency:percentile(90), latency:percentile(95),
    latency:percentile(99), latency.max, latency.mean,
    e.connect, e.read, e.write, e.timeout, e.status,
    bad, gql, sample and json_string(sample) or "null"))
end
