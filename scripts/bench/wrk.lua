-- wrk.lua: wrk script for scripts/bench/run.py. With WRK_CONNECTION_CLOSE=1 every
-- request carries "Connection: close", so the server closes after each answer and wrk
-- opens a new connection per request (as the kubelet does); otherwise keep-alive.
-- done() prints one JSON line with the request count and latency percentiles (µs).

if os.getenv("WRK_CONNECTION_CLOSE") == "1" then
  wrk.headers["Connection"] = "close"
end
wrk.headers["User-Agent"] = "kube-probe/1.33"

function done(summary, latency, requests)
  local errors = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"errors":%d,"non2xx":%d,' ..
    '"p50_us":%.1f,"p90_us":%.1f,"p99_us":%.1f,"p999_us":%.1f,"max_us":%.1f,"mean_us":%.1f}\n',
    summary.requests, summary.duration,
    errors.connect + errors.read + errors.write + errors.timeout, errors.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
