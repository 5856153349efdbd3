--[[
  Appends one event to a thread's replay log and publishes it live, atomically, so the log and the
  live stream can never disagree (pub/sub alone is at-most-once; the log is what clients resume from).

  KEYS[1]  {thread:<id>}:log   Redis Stream, the replay log
  KEYS[2]  {thread:<id>}:meta  hash holding the per-run seq counters

  ARGV[1]  channel             thread:<id> (same slot as KEYS in cluster mode)
  ARGV[2]  seq field           "seq:<runId>", or "" for an event with no run (no seq assigned)
  ARGV[3]  payload             the event as a JSON object WITHOUT id and seq, starting with "{"
  ARGV[4]  maxlen              approximate cap of the log (XADD MAXLEN ~)
  ARGV[5]  ttl seconds         expiry of log and meta, renewed by every event
  ARGV[6]  publish command     "PUBLISH" or "SPUBLISH" (cluster mode)

  Stored in the log (field "e"):  {"seq":<n>,<rest of payload>
  Published live:                 {"id":"<entry id>","seq":<n>,<rest of payload>
  Readers of the log splice the entry id the same way, so both carry byte-identical JSON.

  Returns  { entry id, seq (0 when no run) }
]]
local seq = 0
local body = ARGV[3]
if ARGV[2] ~= "" then
  seq = redis.call("HINCRBY", KEYS[2], ARGV[2], 1)
  body = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
end

local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", ARGV[4], "*", "e", body)
redis.call("EXPIRE", KEYS[1], ARGV[5])
redis.call("EXPIRE", KEYS[2], ARGV[5])

redis.call(ARGV[6], ARGV[1], '{"id":"' .. id .. '",' .. string.sub(body, 2))
return { id, seq }
