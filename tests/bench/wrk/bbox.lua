-- GET a bbox returning 500 features: boxes from boxes.txt ("minlon,minlat,maxlon,maxlat").
local boxes = {}
for line in io.lines(os.getenv("CIVMAP_BOXES") or "boxes.txt") do boxes[#boxes + 1] = line end
local n = 0
function request()
  n = n + 1
  return wrk.format("GET", "/api/v1/problems?limit=500&bbox=" .. boxes[(n % #boxes) + 1])
end
