--[[
  Deletes everything Redis holds for a thread in one step, and fences the runs that had not ended, so
  a worker still holding one cannot bring the thread back. Variable key count (the caller passes
  numkeys): every key is declared, all share the thread's slot.

  KEYS[1..4]   {thread:<id>}:log, :meta, :watchers, :runs (the runs index)
  KEYS[5..]    per run, two keys: its record {thread:<id>}:run:<runId>, its publish state
               {thread:<id>}:pub:<runId>
  ARGV[1]      fence ttl seconds

  A run whose publish state exists without "done" was queued or running. Its state is re-created
  holding only done = "deleted", expiring after ARGV[1]: the publish script then refuses the run's
  next event (RUN_ENDED) and appends nothing, so the worker stops the agent and writes nothing more.

  Returns  { number of keys deleted, the 0-based run positions (i in KEYS[5+2i]) of the fenced runs… }
]]
local fenced = {}
for i = 5, #KEYS, 2 do
  local state = KEYS[i + 1]
  if redis.call("EXISTS", state) == 1 and redis.call("HEXISTS", state, "done") == 0 then
    table.insert(fenced, i)
  end
end
-- In slices: unpack is bounded by Lua's C stack (a thread may list thousands of runs).
local deleted = 0
for first = 1, #KEYS, 1000 do
  deleted = deleted + redis.call("DEL", unpack(KEYS, first, math.min(first + 999, #KEYS)))
end
local out = { deleted }
for _, i in ipairs(fenced) do
  redis.call("HSET", KEYS[i + 1], "done", "deleted")
  redis.call("EXPIRE", KEYS[i + 1], ARGV[1])
  table.insert(out, (i - 5) / 2)
end
return out
