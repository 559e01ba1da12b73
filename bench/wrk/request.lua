-- One request again and again: wrk ... -s bench/wrk/request.lua URL -- METHOD BODY_FILE API_KEY
-- (BODY_FILE and API_KEY may be "-": no body, anonymous).
dofile("bench/wrk/report.lua")

local prepared

function init(args)
   local method, body_file, key = args[1] or "GET", args[2] or "-", args[3] or "-"
   local headers = {}
   local body = nil
   if body_file ~= "-" then
      local file = assert(io.open(body_file, "rb"))
      body = file:read("*a")
      file:close()
      headers["Content-Type"] = "application/json"
   end
   if key ~= "-" then headers["x-api-key"] = key end
   prepared = wrk.format(method, nil, headers, body)
end

function request()
   return prepared
end

function response(status, headers, body)
   check(status, body)
end
