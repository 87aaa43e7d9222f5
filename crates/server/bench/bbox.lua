-- GET a random box holding ~700 of the 1M uniform problems; the first page of 500 features,
-- with the properties a map layer needs (about 100 KB of GeoJSON).
math.randomseed(2)
local side = tonumber(os.getenv("SIDE") or "0.0126")
request = function()
  local w = 121.22 + math.random() * (0.5 - side)
  local s = 31.0 + math.random() * (0.45 - side)
  local path = string.format(
    "/api/v1/problems?bbox=%.5f,%.5f,%.5f,%.5f&limit=500&properties=category,status,severity,overdue",
    w, s, w + side, s + side)
  return wrk.format("GET", path)
end
