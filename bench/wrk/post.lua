-- POST the file named after `--` as an application/fhir+json body to the URL's path, on every connection.
local prepared

function init(args)
  local file = assert(io.open(args[1], "rb"))
  local body = file:read("*a")
  file:close()
  local headers = {["Content-Type"] = "application/fhir+json", ["Accept"] = "application/fhir+json"}
  prepared = wrk.format("POST", wrk.path, headers, body)
end

function request()
  return prepared
end
