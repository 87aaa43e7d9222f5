-- POST a report (durable: the answer leaves after the commit), bearer token from CIVMAP_TOKEN.
local token = os.getenv("CIVMAP_TOKEN")
local cats = { "illegal_parking", "garbage", "ad_posters", "street_vending", "zombie_car" }
local n = 0
function request()
  n = n + 1
  local lon = 121.50 + (n % 1000) * 0.00002
  local lat = 31.28 + (n % 997) * 0.00002
  local body = string.format(
    '{"lon":%.6f,"lat":%.6f,"category":"%s","description":"load test report %d"}',
    lon, lat, cats[(n % #cats) + 1], n)
  return wrk.format("POST", "/api/v1/problems", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
  }, body)
end
function response(status, headers, body)
  if status ~= 201 and status ~= 200 then
    io.stderr:write("unexpected status " .. status .. "\n")
  end
end
