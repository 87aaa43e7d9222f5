-- GET one problem by a random id from the file written by the loadserve example.
local ids = {}
for line in io.lines(os.getenv("IDS") or "/tmp/civmap-ids.txt") do ids[#ids + 1] = line end
math.randomseed(1)
request = function()
  return wrk.format("GET", "/api/v1/problems/" .. ids[math.random(#ids)])
end
