-- POST the same form body on every request (client_credentials, introspection).
-- args: <path> <form body> <Authorization header value>
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local request_bytes

function init(args)
  request_bytes = wrk.format("POST", args[1], {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = args[3],
  }, args[2])
end

function request()
  return request_bytes
end
