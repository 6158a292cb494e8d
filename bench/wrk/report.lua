-- Shared by every wrk scenario: prints one machine-readable line the harness parses.
-- Load it with dofile() from a scenario script, or use it alone for plain GET scenarios.
local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local exhausted = 0
  for _, t in ipairs(threads) do
    exhausted = exhausted + (t:get("exhausted") or 0)
  end
  local parts = {}
  for _, p in ipairs({50, 75, 90, 99, 99.9}) do
    table.insert(parts, string.format('"%s": %d', tostring(p), latency:percentile(p)))
  end
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "errors_status": %d, "errors_connect": %d, ' ..
    '"errors_read": %d, "errors_write": %d, "errors_timeout": %d, "latency_mean_us": %.1f, ' ..
    '"latency_max_us": %d, "latency_us": {%s}, "exhausted": %d, "threads": %d}\n',
    summary.requests, summary.duration, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, latency.mean, latency.max,
    table.concat(parts, ", "), exhausted, #threads))
end
