-- wrk load script: 2207 settlements through the gateway envelope.
-- Arguments (after --): patients file, hospitals file, run tag, max responses per thread.
--   patients file: "psn_no certno admdvs" per line (the patient's own credential)
--   hospitals file: "admdvs code token" per line (an institution token per hospital)
-- Each request: a random patient, a random hospital of the patient's region, a random
-- bill of 50-300 yuan (60-90 % in policy scope), a msgid unique to the run.
-- done() prints one JSON line: counts and latency percentiles (microseconds).

local threads = {}
local next_id = 1

function setup(thread)
  thread:set("id", next_id)
  next_id = next_id + 1
  table.insert(threads, thread)
end

local patients, hospitals = {}, {}
local tag, limit, counter = "x", 0, 0
-- globals, read by done() through thread:get(); `id` is set by setup()
responses, failures = 0, 0
local path = "/fsi/api/rsfComIfsService/callService"

local function words(line)
  local out = {}
  for w in line:gmatch("%S+") do table.insert(out, w) end
  return out
end

function init(args)
  for line in io.lines(args[1]) do
    local w = words(line)
    table.insert(patients, {psn_no = w[1], certno = w[2], admdvs = w[3]})
  end
  for line in io.lines(args[2]) do
    local w = words(line)
    hospitals[w[1]] = hospitals[w[1]] or {}
    table.insert(hospitals[w[1]], {code = w[2], auth = "Bearer " .. w[3]})
  end
  tag, limit = args[3], tonumber(args[4] or "0")
  math.randomseed(os.time() * 100 + id)
end

local function yuan(fen)
  return string.format("%d.%02d", math.floor(fen / 100), fen % 100)
end

function request()
  counter = counter + 1
  local p = patients[math.random(#patients)]
  local list = hospitals[p.admdvs]
  local h = list[math.random(#list)]
  local fee = math.random(5000, 30000)
  local inscp = math.floor(fee * math.random(60, 90) / 100)
  local body = string.format(
    '{"infno":"2207","msgid":"%s-%d-%d","mdtrtarea_admvs":"%s","insuplc_admdvs":"%s",' ..
    '"fixmedins_code":"%s","opter":"bench","inf_time":"2025-06-01 10:00:00","input":{"data":' ..
    '{"psn_no":"%s","mdtrt_cert_type":"02","mdtrt_cert_no":"%s","medfee_sumamt":"%s",' ..
    '"fulamt_ownpay_amt":"%s","overlmt_selfpay":"0","preselfpay_amt":"0",' ..
    '"inscp_scp_amt":"%s","acct_used_flag":"1"}}}',
    tag, id, counter, p.admdvs, p.admdvs, h.code, p.psn_no, p.certno, yuan(fee),
    yuan(fee - inscp), yuan(inscp))
  return wrk.format("POST", path, {["Authorization"] = h.auth,
                                   ["Content-Type"] = "application/json"}, body)
end

function response(status, headers, body)
  responses = responses + 1
  if status ~= 200 or not string.find(body, '"infcode":0', 1, true) then
    failures = failures + 1
    if failures <= 3 then io.stderr:write(status, " ", body:sub(1, 300), "\n") end
  end
  if limit > 0 and responses >= limit then wrk.thread:stop() end
end

function done(summary, latency, requests)
  local answered, failed = 0, 0
  for _, t in ipairs(threads) do
    answered = answered + t:get("responses")
    failed = failed + t:get("failures")
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests":%d,"duration_us":%d,"answered":%d,"failed":%d,"socket_errors":%d,' ..
    '"latency_us_p50":%d,"latency_us_p90":%d,"latency_us_p99":%d,"latency_us_max":%d,' ..
    '"latency_us_mean":%.1f}\n',
    summary.requests, summary.duration, answered, failed,
    e.connect + e.read + e.write + e.timeout + e.status,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    latency.mean))
end
