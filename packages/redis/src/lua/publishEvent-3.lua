--[[
  Appends one event to a thread's replay log and publishes it live, atomically, so the log and the
  live stream can never disagree (pub/sub alone is at-most-once; the log is what clients resume from).
  Every producer (worker, API, HTTP publish, CLI, Python SDK, any EVALSHA caller) goes through here.

  KEYS[1]  {thread:<id>}:log          Redis Stream, the replay log
  KEYS[2]  {thread:<id>}:meta         hash of the thread (owner, …): its expiry is renewed with the log's
  KEYS[3]  {thread:<id>}:pub:<runId>  hash, the run's publish state (below); for an event with no
                                      runId pass any key of the thread's slot (it is not touched)

  ARGV[1]  channel          thread:<id> (same slot as KEYS in cluster mode)
  ARGV[2]  payload          the event as a JSON object WITHOUT id and seq, starting with "{":
                            {"type":…,"threadId":…,"runId"?:…,"ts":…,"content":…}
  ARGV[3]  maxlen           approximate cap of the log (XADD MAXLEN ~); on a thread the archive
                            follows, entries not archived yet are kept beyond it (see below)
  ARGV[4]  ttl seconds      expiry of the log, the meta and the run's publish state, renewed by
                            every event
  ARGV[5]  publish command  "PUBLISH" or "SPUBLISH" (cluster mode)
  ARGV[6]  idempotency key  "" or ≤ 128 characters, unique within the run: a repeat returns the
                            first publish's id and seq and appends nothing (needs a runId)
  ARGV[7]  attempt          "" (unfenced) or the producer's attempt number (fencing token, needs a
                            runId): an attempt older than the newest one seen is refused

  The run's publish state (KEYS[3]) holds: "seq" (last assigned seq), "attempt" (newest attempt seen),
  "done" (entry id of the run's `done`: nothing is appended after it), "last" (ms, Redis's clock, of
  the run's latest event: external runs are failed after a silence), and the idempotency window:
  "k:<key>" -> "<entry id> <seq>" plus "s:<seq>" -> key, so the key of the event IDEM_WINDOW seqs back
  is forgotten as each new one arrives (bounded memory per run).

  Stored in the log (field "e"):  {"seq":<n>,<rest of payload>
  Published live:                 {"id":"<entry id>","seq":<n>,<rest of payload>
  Readers of the log splice the entry id the same way, so both carry byte-identical JSON.

  Returns  { entry id, seq (0 when no run), 1 if this was a repeat of an earlier publish else 0 }
  Errors   "INVALID_EVENT <field>: <why>"   the payload is not an event readers would accept
           "STALE_ATTEMPT <why>"            a newer attempt of the run is publishing
           "RUN_ENDED <why>"                the run already published its `done`
]]
local IDEM_WINDOW = 4096
-- Readers drop messages over 1 MiB (DEFAULT_MAX_EVENT_BYTES); leave room for the spliced id and seq.
local MAX_PAYLOAD_BYTES = 1048576 - 64

if #ARGV[2] > MAX_PAYLOAD_BYTES then
  return redis.error_reply("INVALID_EVENT payload: larger than " .. MAX_PAYLOAD_BYTES .. " bytes")
end

local ok, event = pcall(cjson.decode, ARGV[2])
if not ok or type(event) ~= "table" or string.sub(ARGV[2], 1, 1) ~= "{" then
  return redis.error_reply("INVALID_EVENT payload: not a JSON object")
end
local function oneOf(value, list)
  for _, v in ipairs(list) do if value == v then return true end end
  return false
end
local function invalid(field, why)
  return redis.error_reply("INVALID_EVENT " .. field .. ": " .. why)
end
if event.id ~= nil or event.seq ~= nil then return invalid("id", "id and seq are assigned by the script") end
if event.threadId ~= string.sub(ARGV[1], string.find(ARGV[1], ":", 1, true) + 1) then
  return invalid("threadId", "must be the channel's thread")
end
if type(event.ts) ~= "number" or event.ts < 0 or event.ts % 1 ~= 0 then
  return invalid("ts", "must be an integer >= 0")
end
local runId = event.runId
if runId ~= nil and (type(runId) ~= "string" or #runId > 128 or not string.match(runId, "^[%w_-]+$")) then
  return invalid("runId", "must be 1-128 characters of A-Z, a-z, 0-9, _ or -")
end

local content = event.content
local kind = event.type
if not oneOf(kind, { "token", "status", "delta", "done", "error" }) then
  return invalid("type", "must be token, status, delta, done or error")
end
if kind == "token" then
  if type(content) ~= "string" then return invalid("content", "a token's content is a string") end
elseif type(content) ~= "table" then
  return invalid("content", "must be an object")
elseif kind == "status" then
  if not oneOf(content.state, { "queued", "running", "retrying", "cancelling", "cancelled", "completed", "failed" }) then
    return invalid("content.state", "unknown state")
  end
elseif kind == "delta" then
  if type(content.kind) ~= "string" or content.kind == "" then return invalid("content.kind", "required") end
elseif kind == "done" then
  if not oneOf(content.finishReason, { "stop", "cancelled", "length", "error" }) then
    return invalid("content.finishReason", "must be stop, cancelled, length or error")
  end
elseif kind == "error" then
  if type(content.code) ~= "string" or content.code == "" then return invalid("content.code", "required") end
  if type(content.message) ~= "string" then return invalid("content.message", "required") end
  if type(content.retryable) ~= "boolean" then return invalid("content.retryable", "must be a boolean") end
end

local key = ARGV[6]
local attempt = ARGV[7]
if #key > 128 then return invalid("idempotencyKey", "at most 128 characters") end
if runId == nil and (key ~= "" or attempt ~= "") then
  return invalid("runId", "an idempotency key or attempt needs a run")
end

local seq = 0
local body = ARGV[2]
if runId ~= nil then
  local state = KEYS[3]
  if key ~= "" then
    local seen = redis.call("HGET", state, "k:" .. key)
    if seen then
      local space = string.find(seen, " ", 1, true)
      return { string.sub(seen, 1, space - 1), tonumber(string.sub(seen, space + 1)), 1 }
    end
  end
  local doneId = redis.call("HGET", state, "done")
  if doneId then
    return redis.error_reply("RUN_ENDED run " .. runId .. " already published its done (" .. doneId .. ")")
  end
  if attempt ~= "" then
    local newest = tonumber(redis.call("HGET", state, "attempt") or "0")
    local mine = tonumber(attempt)
    if mine == nil then return invalid("attempt", "must be a number") end
    if mine < newest then
      return redis.error_reply("STALE_ATTEMPT attempt " .. attempt .. " of run " .. runId .. " was superseded by attempt " .. newest)
    end
    if mine > newest then redis.call("HSET", state, "attempt", attempt) end
  end
  seq = redis.call("HINCRBY", state, "seq", 1)
  body = '{"seq":' .. seq .. ',' .. string.sub(body, 2)
end

-- A thread the archive follows (archiveProgress-2.lua keeps "archivedN" in its meta): the log keeps
-- what the archiver has not copied yet, up to ARCHIVE_BACKLOG_FACTOR x maxlen; past that the archive
-- has fallen too far behind and the archiver reports the gap. "n" counts the thread's entries.
local ARCHIVE_BACKLOG_FACTOR = 10
local maxlen = tonumber(ARGV[3])
local archivedN = redis.call("HGET", KEYS[2], "archivedN")
if archivedN then
  -- +1: the archive's last entry too, the anchor a reader of the log checks continuity against.
  local keep = redis.call("HINCRBY", KEYS[2], "n", 1) - tonumber(archivedN) + 1
  if keep > maxlen then maxlen = math.min(keep, maxlen * ARCHIVE_BACKLOG_FACTOR) end
end
local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", maxlen, "*", "e", body)
redis.call("EXPIRE", KEYS[1], ARGV[4])
redis.call("EXPIRE", KEYS[2], ARGV[4])
if runId ~= nil then
  local state = KEYS[3]
  if key ~= "" then
    redis.call("HSET", state, "k:" .. key, id .. " " .. seq, "s:" .. seq, key)
  end
  local old = redis.call("HGET", state, "s:" .. (seq - IDEM_WINDOW))
  if old then redis.call("HDEL", state, "k:" .. old, "s:" .. (seq - IDEM_WINDOW)) end
  if kind == "done" then redis.call("HSET", state, "done", id) end
  -- When the run last published (Redis's clock): how silence is measured for external runs.
  local now = redis.call("TIME")
  redis.call("HSET", state, "last", now[1] * 1000 + math.floor(now[2] / 1000))
  redis.call("EXPIRE", state, ARGV[4])
end

redis.call(ARGV[5], ARGV[1], '{"id":"' .. id .. '",' .. string.sub(body, 2))
return { id, seq, 0 }
