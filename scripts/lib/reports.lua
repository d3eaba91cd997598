-- wrk script for scripts/bench-recovery: POST /v1/report by features over
-- 1000 groups (Asn AS1..AS1000). Counts 202 answers per thread; done() prints
-- REPORTS accepted=N other=N errors=N.
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(4321 + id)
  accepted, other = 0, 0
end

local decisions = { "cdn-a", "cdn-b", "cdn-c" }

function request()
  return wrk.format("POST", "/v1/report", { ["Content-Type"] = "application/json" },
    string.format('{"features":{"Asn":"AS%d"},"decision":"%s","score":%.2f}',
      math.random(1, 1000), decisions[math.random(3)], math.random() * 5))
end

function response(status, headers, body)
  if status == 202 then accepted = accepted + 1 else other = other + 1 end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, thread in ipairs(threads) do
    a = a + (thread:get("accepted") or 0)
    o = o + (thread:get("other") or 0)
  end
  local e = summary.errors
  io.write(string.format("REPORTS accepted=%d other=%d errors=%d\n", a, o,
    e.connect + e.read + e.write + e.timeout))
end
