--[[
  Claims a thread for its first subject, atomically with the meta hash's TTL: the meta key can never
  be left without an expiry (a crash between two commands used to leave a thread claimed for good).
  An existing expiry is kept (the publish script renews it with every event).

  KEYS[1]  {thread:<id>}:meta  hash: owner, createdAt, lastRunId, per-run seq counters

  ARGV[1]  subject             the JWT `sub` claiming the thread
  ARGV[2]  createdAt           ISO 8601, kept from the first claim
  ARGV[3]  ttl seconds         the thread's TTL (same as its replay log)
  ARGV[4]  "1" when the archive follows threads: the meta starts counting appended and archived
           entries ("n", "archivedN", see archiveProgress-2.lua) so the log keeps what the archive
           has not copied from the first event on

  Returns  the thread's owner (ARGV[1] when this call claimed it, else the earlier owner)
]]
redis.call("HSETNX", KEYS[1], "owner", ARGV[1])
redis.call("HSETNX", KEYS[1], "createdAt", ARGV[2])
if ARGV[4] == "1" then
  redis.call("HSETNX", KEYS[1], "n", 0)
  redis.call("HSETNX", KEYS[1], "archivedN", 0)
end
if redis.call("TTL", KEYS[1]) < 0 then redis.call("EXPIRE", KEYS[1], ARGV[3]) end
return redis.call("HGET", KEYS[1], "owner")
