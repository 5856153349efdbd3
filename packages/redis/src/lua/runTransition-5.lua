--[[
  One transition of a run's lifecycle (packages/redis/src/run-lifecycle.ts): appends the events it
  announces AND applies the run-record change that goes with them, in one atomic step, so the replay
  log, the live stream and `GET /runs/:id` can never disagree, even if the caller dies mid-way.

  Not loaded alone: scripts.ts prepends publishEvent-3.lua wrapped as
      local function publishOne(KEYS, ARGV) <publishEvent-3.lua> end
  so every event gets exactly the publish script's checks and bookkeeping (validation, idempotency
  key, attempt fencing, nothing after `done`, seq, log cap, TTLs, live publish).

  KEYS[1]  {thread:<id>}:log          replay log
  KEYS[2]  {thread:<id>}:meta         thread meta (lastRunId)
  KEYS[3]  {thread:<id>}:pub:<runId>  the run's publish state (owned by publishEvent-3.lua)
  KEYS[4]  {thread:<id>}:run:<runId>  the run's record hash
  KEYS[5]  {thread:<id>}:runs         sorted set of the thread's run ids (score = creation ms)

  ARGV[1]  channel          thread:<id>
  ARGV[2]  maxlen           approximate cap of the log
  ARGV[3]  ttl seconds      the thread's TTL: log, meta, publish state, run record and runs index,
                            all renewed by every transition (also one with no events and no fields)
  ARGV[4]  publish command  "PUBLISH" or "SPUBLISH"
  ARGV[5]  attempt          fencing token ("" = unfenced: API, stalled-job and invalid-job paths)
  ARGV[6]  record op        "create": a new record from the pairs; meta lastRunId = ARGV[7]; the run
                                      joins the runs index, trimmed to the newest ARGV[9] runs
                            "update": HSET the pairs only if the record exists (an expired record
                                      is never re-created as a fragment without TTL)
                            "begin":  an attempt starts: refused with RUN_ENDED, before anything is
                                      written, when the record's status is final (completed, failed,
                                      cancelled); else like "update", except that a `startedAt` pair
                                      is only set when the record has none (a retry keeps the first
                                      attempt's). The worker's one call before its agent starts.
  ARGV[7]  run id
  ARGV[8]  index score      (create) creation time, ms
  ARGV[9]  index cap        (create) how many runs the index keeps
  ARGV[10] n                number of record field/value pairs
  ARGV[11 .. 10+2n]         field, value, ...
  then, per event:          payload (JSON object without id/seq), idempotency key

  Returns  { id1, seq1, repeat1, id2, seq2, repeat2, ... } (repeat = 1 when the key was seen before)
  Errors   the publish script's (INVALID_EVENT, STALE_ATTEMPT, RUN_ENDED), and RUN_ENDED for "begin"
           on a final record. They can only come from the record check or the first event (the
           caller's events are valid, and `done` is always a transition's last), i.e. before anything
           was written: a refused transition changes nothing.
]]
local npairs = tonumber(ARGV[10])
if ARGV[6] == "begin" then
  local status = redis.call("HGET", KEYS[4], "status")
  if status == "completed" or status == "failed" or status == "cancelled" then
    return redis.error_reply("RUN_ENDED run " .. ARGV[7] .. " is already " .. status)
  end
end
local firstEvent = 11 + 2 * npairs
local out = {}
for i = firstEvent, #ARGV, 2 do
  local reply = publishOne(
    { KEYS[1], KEYS[2], KEYS[3] },
    { ARGV[1], ARGV[i], ARGV[2], ARGV[3], ARGV[4], ARGV[i + 1], ARGV[5] }
  )
  if reply.err then return reply end
  out[#out + 1] = reply[1]
  out[#out + 1] = reply[2]
  out[#out + 1] = reply[3]
end

local fields = {}
for i = 11, 10 + 2 * npairs do fields[#fields + 1] = ARGV[i] end
local ttl = ARGV[3]
if ARGV[6] == "create" then
  redis.call("HSET", KEYS[4], unpack(fields))
  redis.call("HSET", KEYS[2], "lastRunId", ARGV[7])
  redis.call("EXPIRE", KEYS[2], ttl)
  redis.call("ZADD", KEYS[5], ARGV[8], ARGV[7])
  local cap = tonumber(ARGV[9])
  if redis.call("ZCARD", KEYS[5]) > cap then redis.call("ZREMRANGEBYRANK", KEYS[5], 0, -(cap + 1)) end
elseif #fields > 0 and redis.call("EXISTS", KEYS[4]) == 1 then
  if ARGV[6] == "begin" then
    local rest = {}
    for i = 1, #fields, 2 do
      if fields[i] == "startedAt" then
        redis.call("HSETNX", KEYS[4], "startedAt", fields[i + 1])
      else
        rest[#rest + 1] = fields[i]
        rest[#rest + 1] = fields[i + 1]
      end
    end
    if #rest > 0 then redis.call("HSET", KEYS[4], unpack(rest)) end
  else
    redis.call("HSET", KEYS[4], unpack(fields))
  end
end
-- Everything the run keeps in its thread lives as long as the log (EXPIRE never creates a key);
-- with no events and no fields this is the worker's renewal of a live run.
for k = 1, 5 do redis.call("EXPIRE", KEYS[k], ttl) end
return out
