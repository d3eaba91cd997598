-- wrk script for scripts/bench-federation: POST /v1/report by features for
-- groups Asn=fed-1 .. Asn=fed-N (FED_GROUPS, default 50), decision x or y.
-- Counts answers by status; done() prints them as key=value.
local groups = tonumber(os.getenv("FED_GROUPS") or "50")
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(99 + id)
  s202, s_other = 0, 0
end

function request()
  local body = string.format('{"features":{"Asn":"fed-%d"},"decision":"%s","score":%d}',
    math.random(1, groups), math.random() < 0.5 and "x" or "y", math.random(1, 100))
  return wrk.format("POST", "/v1/report", { ["content-type"] = "application/json" }, body)
end

function response(status, headers, body)
  if status == 202 then s202 = s202 + 1 else s_other = s_other + 1 end
end

function done(summary, latency, requests)
  local a, o = 0, 0
  for _, t in ipairs(threads) do
    a = a + t:get("s202")
    o = o + t:get("s_other")
  end
  io.write(string.format("status_202=%d status_other=%d\n", a, o))
end
