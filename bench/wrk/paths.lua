-- GET requests cycling through the paths given after `--` (one per argument), on every connection.
local paths = {}
local n = 0

function init(args)
  for i, path in ipairs(args) do
    paths[i] = wrk.format("GET", path)
  end
end

function request()
  n = n + 1
  return paths[(n % #paths) + 1]
end
