-- wrk script for scripts/bench-capacity. CAP_MODE picks the requests:
--   decide   POST /v1/decide only;
--   report   POST /v1/report by features and decision only;
--   session  a player session as the JSON protocol makes it: POST /v1/decide,
--            then POST /v1/report quoting the event id it got (each id once).
-- Sessions spread over CAP_GROUPS groups (Asn=CAP_PREFIX1 .. CAP_PREFIXN,
-- default 1000 groups named cap-1 ..), 3 candidates. Counts answers by
-- status; done() prints CAP decide_200=N report_202=N other=N.
local mode = os.getenv("CAP_MODE") or "session"
local groups = tonumber(os.getenv("CAP_GROUPS") or "1000")
local prefix = os.getenv("CAP_PREFIX") or "cap-"
local threads = {}
local headers = { ["Content-Type"] = "application/json" }
local decisions = { "cdn-a", "cdn-b", "cdn-c" }

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(2718 + id)
  decide_200, report_202, other = 0, 0, 0
  ids, first, last = {}, 1, 0  -- event ids waiting for their report (FIFO)
end

local function decide()
  return wrk.format("POST", "/v1/decide", headers, string.format(
    '{"features":{"Asn":"%s%d"},"candidates":["cdn-a","cdn-b","cdn-c"]}',
    prefix, math.random(1, groups)))
end

function request()
  if mode == "decide" then return decide() end
  if mode == "report" then
    return wrk.format("POST", "/v1/report", headers, string.format(
      '{"features":{"Asn":"%s%d"},"decision":"%s","score":%.2f}',
      prefix, math.random(1, groups), decisions[math.random(3)], math.random() * 5))
  end
  if first <= last then
    local id = ids[first]
    ids[first] = nil
    first = first + 1
    return wrk.format("POST", "/v1/report", headers,
      string.format('{"event_id":"%s","score":%.2f}', id, math.random() * 5))
  end
  return decide()
end

function response(status, headers, body)
  if status == 200 then
    decide_200 = decide_200 + 1
    if mode == "session" then
      local id = body:match('"event_id":"([^"]+)"')
      if id then last = last + 1; ids[last] = id end
    end
  elseif status == 202 then
    report_202 = report_202 + 1
  else
    other = other + 1
    if other <= 3 then io.stderr:write("unexpected " .. status .. ": " .. body .. "\n") end
  end
end

function done(summary, latency, requests)
  local t = { decide_200 = 0, report_202 = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
  end
  io.write(string.format("CAP decide_200=%d report_202=%d other=%d p99_ms=%.2f\n",
    t.decide_200, t.report_202, t.other, latency:percentile(99) / 1000))
end
