-- wrk script: POST pre-signed, distinct messages; never the same message twice in a run.
-- Usage: wrk -t T -c C -d D -s bench/signed_post.lua URL -- DATA_FILE THREADS
-- DATA_FILE has one "signature<TAB>body" line per message; thread k of T sends
-- lines k, k+T, k+2T, ... and stops once its share has been sent.
-- done() prints one "BENCH key=value ..." line for bench/webhook_ingest.py.

local threads = {}
local counter = 0

function setup(thread)
   thread:set("tid", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local requests = {}
sent = 0
share = 0
ok2xx = 0
non2xx = 0

function init(args)
   local path, nthreads = args[1], tonumber(args[2])
   local n = 0
   for line in io.lines(path) do
      if n % nthreads == tid then
         local signature, body = line:match("^([^\t]*)\t(.*)$")
         local headers = {
            ["Host"] = wrk.headers["Host"],
            ["Content-Type"] = "application/json",
            ["X-Simulator-Signature"] = signature,
         }
         table.insert(requests, wrk.format("POST", nil, headers, body))
      end
      n = n + 1
   end
   share = #requests
end

function request()
   sent = sent + 1
   -- Past the share (only if the run outlasts the data): stop; the repeat goes uncounted.
   if sent > #requests then
      wrk.thread:stop()
      return requests[#requests]
   end
   return requests[sent]
end

function response(status, headers, body)
   if status >= 200 and status < 300 then
      ok2xx = ok2xx + 1
   else
      non2xx = non2xx + 1
   end
   if sent >= #requests then
      wrk.thread:stop()
   end
end

function done(summary, latency, _)
   local ok, bad, exhausted = 0, 0, 0
   for _, thread in ipairs(threads) do
      ok = ok + thread:get("ok2xx")
      bad = bad + thread:get("non2xx")
      if thread:get("sent") >= thread:get("share") then
         exhausted = exhausted + 1
      end
   end
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_s=%.3f rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f "
         .. "ok2xx=%d non2xx=%d socket_errors=%d exhausted=%d\n",
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000,
      ok, bad, e.connect + e.read + e.write + e.timeout, exhausted))
end
