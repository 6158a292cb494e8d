-- POST a body that can be used once (an authorization code, a rotating refresh token):
-- each request takes the next line of a file; each wrk thread owns every n-th line.
-- args: <path> <file of form bodies, one per line> <Authorization header value>
dofile(os.getenv("BENCH_WRK_DIR") .. "/report.lua")

local path, authorization
local bodies = {}
local next_index = 1
local warned = false

function init(args)
  path, authorization = args[1], args[3]
  local nthreads = tonumber(os.getenv("BENCH_WRK_THREADS"))
  local line_no = 0
  for line in io.lines(args[2]) do
    if line_no % nthreads == tid then
      table.insert(bodies, line)
    end
    line_no = line_no + 1
  end
  wrk.thread:set("exhausted", 0)
end

function request()
  local body = bodies[next_index]
  if body == nil then
    -- Out of single-use bodies: stop this thread rather than send requests that must fail.
    if not warned then
      wrk.thread:set("exhausted", 1)
      warned = true
    end
    wrk.thread:stop()
    body = bodies[#bodies]
  end
  next_index = next_index + 1
  return wrk.format("POST", path, {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Authorization"] = authorization,
  }, body)
end
