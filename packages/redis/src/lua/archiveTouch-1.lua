--[[
  Marks a thread as having replay-log entries the archiver has not copied yet.

  KEYS[1]  threadline:archive:dirty   sorted set, member = thread id, score = mark version
  ARGV[1]  thread id
  ARGV[2]  now (ms)

  The score only ever grows (now, or the old score + 1 when marked twice in one millisecond), so the
  archiver can tell whether a thread was marked again while it was copying (see archiveSettle-1.lua).

  Returns  the new score
]]
local score = tonumber(ARGV[2])
local old = tonumber(redis.call("ZSCORE", KEYS[1], ARGV[1]))
if old and old >= score then score = old + 1 end
redis.call("ZADD", KEYS[1], score, ARGV[1])
return score
