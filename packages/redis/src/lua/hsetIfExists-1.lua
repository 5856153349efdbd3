--[[
  Sets one field of a hash only if the hash still exists, so a late update never resurrects a record
  whose TTL has run out (a recreated key would have no TTL and live forever).

  KEYS[1]  the hash
  ARGV[1]  field
  ARGV[2]  value

  Returns  1 when set, 0 when the hash is gone
]]
if redis.call("EXISTS", KEYS[1]) == 0 then return 0 end
redis.call("HSET", KEYS[1], ARGV[1], ARGV[2])
return 1
