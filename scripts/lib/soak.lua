-- wrk script for scripts/soak: a mix of /v1/decide (65%), /v1/report by
-- features (25%), legacy /player.php requests (5%) and bad input (5%, each
-- answered 400). SOAK_DELAY_MS paces each connection (wrk has no rate flag).
-- Counts answers by status per thread; done() prints the totals as key=value.

local delay_ms = tonumber(os.getenv("SOAK_DELAY_MS") or "0")
local threads = {}
local legacy_prefix = "1473000000000%093.2%091500%09800%09"
local legacy_suffix = "%09US%09wifi%09MA%09linux%09vod%09obj-1%09flash%091200%09cdn-a%09cdn-a%09cdn-b%09cdn-c"
local bad_bodies = {
  { "/v1/decide", '{"features":{"Asn":"1"},"candidates":["a"' },            -- truncated JSON
  { "/v1/decide", '{"features":{"Cty":"x"},"candidates":["a","b"]}' },       -- unknown feature
  { "/v1/decide", '{"features":{},"candidates":[]}' },                       -- no candidates
  { "/v1/report", '{"features":{"Asn":"1"},"decision":"a","score":"1"}' },  -- score not a number
  { "/v1/decide", '{"features":{"Asn":"\255\254"},"candidates":["a"]}' },    -- invalid UTF-8
}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(1234 + id)
  sent_good, sent_bad = 0, 0
  s200, s202, s400, s_other = 0, 0, 0, 0
end

local function features()
  return string.format('{"Asn":"AS%d","City":"c%d"}', math.random(1, 200), math.random(1, 5))
end

function request()
  local r = math.random(100)
  if r <= 5 then
    sent_bad = sent_bad + 1
    local bad = bad_bodies[math.random(#bad_bodies)]
    return wrk.format("POST", bad[1], { ["Content-Type"] = "application/json" }, bad[2])
  end
  sent_good = sent_good + 1
  if r <= 70 then
    return wrk.format("POST", "/v1/decide", { ["Content-Type"] = "application/json" },
      '{"features":' .. features() .. ',"candidates":["cdn-a","cdn-b","cdn-c"]}')
  elseif r <= 95 then
    local decisions = { "cdn-a", "cdn-b", "cdn-c" }
    return wrk.format("POST", "/v1/report", { ["Content-Type"] = "application/json" },
      string.format('{"features":%s,"decision":"%s","score":%.2f}', features(),
        decisions[math.random(3)], math.random() * 5))
  end
  return wrk.format("POST", "/player.php",
    { ["Content-Type"] = "application/x-www-form-urlencoded" },
    "method=request&payload=" .. legacy_prefix .. "AS" .. math.random(1, 200) .. "%09c1" .. legacy_suffix)
end

function response(status, headers, body)
  if status == 200 then s200 = s200 + 1
  elseif status == 202 then s202 = s202 + 1
  elseif status == 400 then s400 = s400 + 1
  else
    s_other = s_other + 1
    if s_other <= 5 then io.stderr:write("unexpected " .. status .. ": " .. body .. "\n") end
  end
end

if delay_ms > 0 then
  function delay() return delay_ms end
end

function done(summary, latency, requests)
  local t = { sent_good = 0, sent_bad = 0, s200 = 0, s202 = 0, s400 = 0, s_other = 0 }
  for _, thread in ipairs(threads) do
    for k, _ in pairs(t) do t[k] = t[k] + (thread:get(k) or 0) end
  end
  io.write(string.format("SOAK sent_good=%d sent_bad=%d status_200=%d status_202=%d status_400=%d status_other=%d socket_errors=%d p99_ms=%.2f\n",
    t.sent_good, t.sent_bad, t.s200, t.s202, t.s400, t.s_other,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(99) / 1000))
end
