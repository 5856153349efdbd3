--[[
  Records how far the archive has copied a thread's log, so the publish script never trims entries
  the archive does not hold yet (publishEvent-3.lua keeps them, within a bound).

  KEYS[1]  {thread:<id>}:log   the replay log
  KEYS[2]  {thread:<id>}:meta  thread meta: "n" = entries appended since the archive first followed
                               the thread, "archivedN" = how many of those the archive holds
  ARGV[1]  the archive's cursor: id of the last entry it committed, or "0" for none

  Counting the entries after the cursor here, atomically with every append, makes "n - archivedN"
  exact whatever was published while the archiver copied. A thread without meta (never claimed, or
  expired) is left alone: nothing would expire a meta key created here.

  Returns  entries not archived yet, or -1 when the thread has no meta
]]
if redis.call("EXISTS", KEYS[2]) == 0 then return -1 end
local after
if ARGV[1] == "0" then
  after = redis.call("XLEN", KEYS[1])
else
  after = #redis.call("XRANGE", KEYS[1], "(" .. ARGV[1], "+")
end
local n = tonumber(redis.call("HGET", KEYS[2], "n"))
if not n then
  n = after
  redis.call("HSET", KEYS[2], "n", n)
end
redis.call("HSET", KEYS[2], "archivedN", n - after)
return after
