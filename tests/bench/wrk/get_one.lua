-- GET one problem: ids from ids.txt (one per line), each thread walks them from its own offset.
local ids = {}
for line in io.lines(os.getenv("CIVMAP_IDS") or "ids.txt") do ids[#ids + 1] = line end
local i = 0
function setup(thread)
  i = i + 1
  thread:set("offset", i * 7919)
end
function init(args)
  n = offset or 0
end
function request()
  n = n + 1
  return wrk.format("GET", "/api/v1/problems/" .. ids[(n % #ids) + 1])
end
