-- wrk script of tests/bench/tiles.sh: cycles through the fixed tile list.
--   PATHS  file of "z/x/y" lines          PREFIX  URL path before them ("/tiles/problems")
--   SUFFIX after them (".mvt" or "")      NOCACHE "1": send Cache-Control: no-cache
--   GZIP   "0": no Accept-Encoding (default: Accept-Encoding: gzip, like a browser)
-- Every thread starts at a different place in the list. Responses other than 200/204 are
-- counted and printed at the end.
local paths = {}
for line in io.lines(os.getenv("PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local prefix = os.getenv("PREFIX") or "/tiles/problems"
local suffix = os.getenv("SUFFIX") or ".mvt"
local headers = {}
if os.getenv("GZIP") ~= "0" then headers["Accept-Encoding"] = "gzip" end
if os.getenv("NOCACHE") == "1" then headers["Cache-Control"] = "no-cache" end

local threads = {}
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("start", counter)
  table.insert(threads, thread)
end

function init(args)
  i = (start * 7919) % #paths
  bad = 0
end

function request()
  i = i % #paths + 1
  return wrk.format("GET", prefix .. "/" .. paths[i] .. suffix, headers)
end

function response(status, hdrs, body)
  if status ~= 200 and status ~= 204 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local total = 0
  for _, t in ipairs(threads) do total = total + (t:get("bad") or 0) end
  io.write(string.format("non-2xx responses: %d\n", total))
  io.write(string.format("latency p50 %.2f ms, p99 %.2f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000))
end
