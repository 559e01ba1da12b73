-- Shared by the bench's wrk scripts (loaded with dofile): counts the answers that are not a
-- success (status 300 and up, or a GraphQL body with "errors"; wrk's own count of statuses
-- is left out, it would count those twice), per thread, and prints one
-- JSON line at the end that `bench.suite` reads: requests, seconds, latency percentiles
-- (ms) and histogram, transport errors and failed answers, with the first failed body.

local threads = {}

function setup(thread)
   thread:set("id", #threads)
   table.insert(threads, thread)
end

failed = 0
first_failure = ""

-- Returns whether the answer counts as a success (scripts with their own response() call it).
function check(status, body)
   if status >= 300 or (body and string.find(body, '"errors":', 1, true)) then
      failed = failed + 1
      if first_failure == "" then
         first_failure = status .. " " .. string.sub(body or "", 1, 300)
      end
      return false
   end
   return true
end

local function quoted(text)
   return '"' .. string.gsub(text, '[%c"\\]', function(c)
      return string.format("\\u%04x", string.byte(c))
   end) .. '"'
end

function done(summary, latency, requests)
   local failures, first, rounds = 0, "", 0
   for _, thread in ipairs(threads) do
      failures = failures + thread:get("failed")
      rounds = rounds + (thread:get("rounds") or 0)
      if first == "" then first = thread:get("first_failure") end
   end
   local errors = summary.errors
   -- The latency histogram ([microseconds, count] per value seen), for `bench.suite` to merge
   -- the runs of alternating slices.
   local buckets = {}
   for i = 1, #latency do
      local value, count = latency(i)
      buckets[#buckets + 1] = string.format("[%d,%d]", value, count)
   end
   io.write(string.format(
      '{"requests": %d, "seconds": %.3f, "p50_ms": %.3f, "p95_ms": %.3f, "p99_ms": %.3f, ' ..
      '"max_ms": %.3f, "transport_errors": %d, "timeouts": %d, "failed": %d, "rounds": %d, ' ..
      '"first_failure": %s, "histogram": [%s]}\n',
      summary.requests, summary.duration / 1e6,
      latency:percentile(50) / 1000, latency:percentile(95) / 1000,
      latency:percentile(99) / 1000, latency.max / 1000,
      errors.connect + errors.read + errors.write, errors.timeout,
      failures, rounds, quoted(first), table.concat(buckets, ",")))
end
