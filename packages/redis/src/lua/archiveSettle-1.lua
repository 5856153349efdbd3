--[[
  Clears a thread's dirty mark after the archiver copied its log, unless it was marked again since.

  KEYS[1]  threadline:archive:dirty   sorted set, member = thread id, score = mark version
  ARGV[1]  thread id
  ARGV[2]  the score the archiver read before copying

  Returns  1 when cleared, 0 when the thread was marked again (it stays for the next pass)
]]
local current = tonumber(redis.call("ZSCORE", KEYS[1], ARGV[1]))
if current and current > tonumber(ARGV[2]) then return 0 end
redis.call("ZREM", KEYS[1], ARGV[1])
return 1
