-- POST a report (durable: answered after the store's COMMIT) at a random position.
math.randomseed(3)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer load-test-token-0123456789"
request = function()
  local body = string.format(
    '{"lon":%.6f,"lat":%.6f,"category":"garbage","description":"load test"}',
    121.22 + math.random() * 0.5, 31.0 + math.random() * 0.45)
  return wrk.format("POST", "/api/v1/problems", nil, body)
end
