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

  More events of the same run in ONE call (optional, for producers that batch): ARGV[8], ARGV[9] are
  the second event's payload and idempotency key, ARGV[10], ARGV[11] the third's, and so on; the
  channel, maxlen, ttl, publish command and attempt of ARGV[1], [3]..[5], [7] apply to all. Every
  event gets exactly what a call of its own would give it, in order (validation, idempotency, fencing,
  nothing after `done`, seq, log cap, its own XADD and its own PUBLISH message); only the state
  bookkeeping (seq counter, attempt, "last", "n", TTLs) is read once and written once per call.

  One key for the whole call (optional, for a producer that never puts an event in two different
  calls, e.g. the worker: a call is only ever sent again whole, as ioredis re-sends it after a dropped
  connection): ARGV[8] = "CALL", then each further event's payload alone (ARGV[9], ARGV[10], …). The
  idempotency key of ARGV[6] then stands for the call: the first time, the ids and seqs of the
  events it published are kept under it ("k:<key>" -> "<id1> <seq1> <id2> <seq2> …", "s:<seq1>" ->
  key); a call with a key seen before answers those as repeats (without looking at their payloads
  again) and goes on with the events after them as usual. One HGET and one HSET per call instead of
  three commands per event. The key is forgotten once IDEM_WINDOW later events followed the call's
  first event. Everything else (validation, fencing, `done`, seq, log cap, XADD, PUBLISH) is per
  event as above.

  Returns  { entry id, seq (0 when no run), 1 if this was a repeat of an earlier publish else 0 },
           one triple per event: { id1, seq1, repeat1, id2, seq2, repeat2, ... }
  Errors   "INVALID_EVENT <field>: <why>"   the payload is not an event readers would accept
           "STALE_ATTEMPT <why>"            a newer attempt of the run is publishing
           "RUN_ENDED <why>"                the run already published its `done`
           When the FIRST event is refused the reply is that error and nothing was written. When a
           later one is, the events before it stay published: the reply is their triples followed by
           the error (an error reply nested as the last element), and the events after it are not
           looked at.
]]
local IDEM_WINDOW = 4096
-- Readers drop messages over 1 MiB (DEFAULT_MAX_EVENT_BYTES); leave room for the spliced id and seq.
local MAX_PAYLOAD_BYTES = 1048576 - 64
-- A thread the archive follows (archiveProgress-2.lua keeps "archivedN" in its meta): the log keeps
-- what the archiver has not copied yet, up to ARCHIVE_BACKLOG_FACTOR x maxlen; past that the archive
-- has fallen too far behind and the archiver reports the gap. "n" counts the thread's entries.
local ARCHIVE_BACKLOG_FACTOR = 10

local channel = ARGV[1]
local threadId = string.sub(channel, string.find(channel, ":", 1, true) + 1)
local maxlenArg = tonumber(ARGV[3])
local ttl = ARGV[4]
local publishCommand = ARGV[5]
local attempt = ARGV[7]
local state = KEYS[3]

local EVENT_TYPES = { "token", "status", "delta", "done", "error" }
local STATES = { "queued", "running", "retrying", "cancelling", "cancelled", "completed", "failed" }
local FINISH_REASONS = { "stop", "cancelled", "length", "error" }

local function oneOf(value, list)
  for _, v in ipairs(list) do if value == v then return true end end
  return false
end
local function invalid(field, why)
  return redis.error_reply("INVALID_EVENT " .. field .. ": " .. why)
end

-- The first event's runId once it passed the checks: the later events of the call carry the same.
local checkedRunId = nil

-- The token path. A token in the shape the TS publisher writes,
--   {"type":"token","threadId":"<thread>","runId":"<run>","ts":<integer>,"content":"<text>"}
-- whose text holds no quote, backslash or control character (so no escape) passes every check in
-- `decode` as it stands: it is matched with patterns instead, as cjson.decode builds a table and a
-- string per field and reads ts with strtod (~10 % of Redis's instructions per token event, callgrind;
-- docs/BENCHMARKS.md, round 7). Anything else, a token with an escaped text included, is decoded and
-- judged as before; publish-token-path.property.int.test.ts holds the two paths to the same verdicts.
local TOKEN_HEAD = '{"type":"token","threadId":"' .. threadId .. '","runId":"'
local TOKEN_REST = '^([%w_-]+)","ts":%d+,"content":"[^"\\%c]*"}$'
local tokenPath = string.match(threadId, "^[%w_-]+$") ~= nil
-- One table per run for the tokens that take it: the loop below reads only their type and runId.
local tokenEvents = {}

local function matchToken(payload)
  if string.find(payload, TOKEN_HEAD, 1, true) ~= 1 then return nil end
  local runId = string.match(payload, TOKEN_REST, #TOKEN_HEAD + 1)
  if not runId or #runId > 128 then return nil end
  local event = tokenEvents[runId]
  if not event then
    event = { type = "token", runId = runId }
    tokenEvents[runId] = event
  end
  return event
end

-- The event a payload holds, or the error reply that refuses it.
local function decode(payload, key)
  if tokenPath and #key <= 128 and #payload <= MAX_PAYLOAD_BYTES then
    local token = matchToken(payload)
    if token then return token end
  end
  if #payload > MAX_PAYLOAD_BYTES then
    return nil, redis.error_reply("INVALID_EVENT payload: larger than " .. MAX_PAYLOAD_BYTES .. " bytes")
  end
  local ok, event = pcall(cjson.decode, payload)
  if not ok or type(event) ~= "table" or string.sub(payload, 1, 1) ~= "{" then
    return nil, redis.error_reply("INVALID_EVENT payload: not a JSON object")
  end
  if event.id ~= nil or event.seq ~= nil then return nil, invalid("id", "id and seq are assigned by the script") end
  if event.threadId ~= threadId then return nil, invalid("threadId", "must be the channel's thread") end
  if type(event.ts) ~= "number" or event.ts < 0 or event.ts % 1 ~= 0 then
    return nil, invalid("ts", "must be an integer >= 0")
  end
  local runId = event.runId
  if runId ~= nil and runId ~= checkedRunId and (type(runId) ~= "string" or #runId > 128 or not string.match(runId, "^[%w_-]+$")) then
    return nil, invalid("runId", "must be 1-128 characters of A-Z, a-z, 0-9, _ or -")
  end
  local content = event.content
  local kind = event.type
  if not oneOf(kind, EVENT_TYPES) then
    return nil, invalid("type", "must be token, status, delta, done or error")
  end
  if kind == "token" then
    if type(content) ~= "string" then return nil, invalid("content", "a token's content is a string") end
  elseif type(content) ~= "table" then
    return nil, invalid("content", "must be an object")
  elseif kind == "status" then
    if not oneOf(content.state, STATES) then
      return nil, invalid("content.state", "unknown state")
    end
  elseif kind == "delta" then
    if type(content.kind) ~= "string" or content.kind == "" then return nil, invalid("content.kind", "required") end
  elseif kind == "done" then
    if not oneOf(content.finishReason, FINISH_REASONS) then
      return nil, invalid("content.finishReason", "must be stop, cancelled, length or error")
    end
  elseif kind == "error" then
    if type(content.code) ~= "string" or content.code == "" then return nil, invalid("content.code", "required") end
    if type(content.message) ~= "string" then return nil, invalid("content.message", "required") end
    if type(content.retryable) ~= "boolean" then return nil, invalid("content.retryable", "must be a boolean") end
  end
  if #key > 128 then return nil, invalid("idempotencyKey", "at most 128 characters") end
  if runId == nil and (key ~= "" or attempt ~= "") then
    return nil, invalid("runId", "an idempotency key or attempt needs a run")
  end
  return event
end

-- The run's state, read when the call's first new event needs it and written back once at the end.
local loaded = false
local seq = 0
local seqText = nil
local doneId = nil
-- The thread's archive counters (nil: the archive does not follow this thread).
local archivedN = nil
local n = nil
local appended = 0
local out = {}

-- The call-key form (see above): the events' payloads follow ARGV[8] one by one.
local callMode = ARGV[8] == "CALL"
local callKey = callMode and ARGV[6] or ""
-- "<id> <seq>" of each event this call answers, kept under the call key; the seq of its first new one.
local callRecord = {}
local callFirstSeq = nil

local function writeBack(runId)
  if appended == 0 then return end
  redis.call("EXPIRE", KEYS[1], ttl)
  if n ~= nil then redis.call("HSET", KEYS[2], "n", n) end
  redis.call("EXPIRE", KEYS[2], ttl)
  if runId ~= nil then
    -- When the run last published (Redis's clock): how silence is measured for external runs.
    local now = redis.call("TIME")
    redis.call("HSET", state, "seq", seq, "last", now[1] * 1000 + math.floor(now[2] / 1000))
    if doneId then redis.call("HSET", state, "done", doneId) end
    if callKey ~= "" then
      local record = table.concat(callRecord, " ")
      if #callRecord == appended then
        redis.call("HSET", state, "k:" .. callKey, record, "s:" .. callFirstSeq, callKey)
      else
        redis.call("HSET", state, "k:" .. callKey, record)
      end
      -- The window: forget the calls whose first event is now IDEM_WINDOW events back.
      local from, to = math.max(callFirstSeq - IDEM_WINDOW, 1), seq - IDEM_WINDOW
      if to >= from then
        local fields = {}
        for old = from, to do fields[#fields + 1] = "s:" .. old end
        local oldKeys = redis.call("HMGET", state, unpack(fields))
        local forget = {}
        for i = 1, #fields do
          if oldKeys[i] then
            forget[#forget + 1] = "k:" .. oldKeys[i]
            forget[#forget + 1] = fields[i]
          end
        end
        if #forget > 0 then redis.call("HDEL", state, unpack(forget)) end
      end
    end
    redis.call("EXPIRE", state, ttl)
  end
end

-- Stops at a refused event: alone (or first) it is the reply; later, it follows what was published.
local function refuse(reply, runId)
  writeBack(runId)
  if #out == 0 then return reply end
  out[#out + 1] = reply
  return out
end

-- The events' payloads and idempotency keys: ARGV[2]/ARGV[6], then ARGV[8]/ARGV[9], … (or, in the
-- call-key form, ARGV[9], ARGV[10], … with no key of their own).
local count
if callMode then
  count = #ARGV - 7
else
  count = 1 + math.max(0, math.ceil((#ARGV - 7) / 2))
end
local function payloadAt(index)
  if index == 1 then return ARGV[2] end
  if callMode then return ARGV[7 + index] end
  return ARGV[2 * index + 4]
end
local function keyAt(index)
  if index == 1 then return ARGV[6] or "" end
  if callMode then return "" end
  return ARGV[2 * index + 5] or ""
end

-- A repeated call-key call: what it published the first time ("<id> <seq>" pairs), answered as is.
local callSeen = nil

local firstRunId = nil
for index = 1, count do
  local payload, key = payloadAt(index), keyAt(index)
  local event, refused = nil, nil
  if not (callSeen and callSeen[index]) then
    event, refused = decode(payload, key)
    if not event then return refuse(refused, firstRunId) end
  end
  local runId = firstRunId
  if event then runId = event.runId end
  if index == 1 then
    firstRunId = runId
    checkedRunId = runId
    if callMode and runId ~= nil and callKey ~= "" then
      local seen = redis.call("HGET", state, "k:" .. callKey)
      if seen then
        callSeen = {}
        for id, pairSeq in string.gmatch(seen, "(%S+) (%d+)") do callSeen[#callSeen + 1] = { id, tonumber(pairSeq) } end
      end
    end
  elseif runId ~= firstRunId then
    return refuse(invalid("runId", "every event of one call belongs to the first event's run"), firstRunId)
  end
  if callMode then key = "" end

  local repeated = nil
  local body = payload
  -- The payload after its "{", when a seq goes in front: shared by the log entry and the live message.
  local rest = nil
  if callSeen and callSeen[index] then
    repeated = { callSeen[index][1], callSeen[index][2], 1 }
  elseif runId ~= nil then
    if key ~= "" then
      local seen = redis.call("HGET", state, "k:" .. key)
      if seen then
        local id, pairSeq = string.match(seen, "^(%S+) (%d+)")
        repeated = { id, tonumber(pairSeq), 1 }
      end
    end
    if not repeated then
      if not loaded then
        loaded = true
        doneId = redis.call("HGET", state, "done")
        if not doneId and attempt ~= "" then
          local newest = tonumber(redis.call("HGET", state, "attempt") or "0")
          local mine = tonumber(attempt)
          if mine == nil then return refuse(invalid("attempt", "must be a number"), runId) end
          if mine < newest then
            return refuse(redis.error_reply("STALE_ATTEMPT attempt " .. attempt .. " of run " .. runId ..
              " was superseded by attempt " .. newest), runId)
          end
          if mine > newest then redis.call("HSET", state, "attempt", attempt) end
        end
        if not doneId then seq = tonumber(redis.call("HGET", state, "seq") or "0") end
      end
      if doneId then
        return refuse(redis.error_reply("RUN_ENDED run " .. runId .. " already published its done (" .. doneId .. ")"), runId)
      end
      seq = seq + 1
      -- Once per event: Lua turns a number into text with sprintf each time it meets one (callgrind:
      -- 8 % of Redis's instructions per event went to number formatting when it happened four times).
      seqText = tostring(seq)
      rest = string.sub(payload, 2)
      body = '{"seq":' .. seqText .. ',' .. rest
    end
  end

  if repeated then
    out[#out + 1] = repeated[1]
    out[#out + 1] = repeated[2]
    out[#out + 1] = repeated[3]
    if callMode then callRecord[#callRecord + 1] = repeated[1] .. " " .. repeated[2] end
  else
    -- The cap as sent (text: no number to format per event), unless the archive's backlog moves it.
    local maxlen = ARGV[3]
    if appended == 0 then
      archivedN = redis.call("HGET", KEYS[2], "archivedN")
      if archivedN then
        archivedN = tonumber(archivedN)
        n = tonumber(redis.call("HGET", KEYS[2], "n") or "0")
      end
    end
    if archivedN then
      n = n + 1
      -- +1: the archive's last entry too, the anchor a reader of the log checks continuity against.
      local keep = n - archivedN + 1
      if keep > maxlenArg then maxlen = math.min(keep, maxlenArg * ARCHIVE_BACKLOG_FACTOR) end
    end
    local id = redis.call("XADD", KEYS[1], "MAXLEN", "~", maxlen, "*", "e", body)
    appended = appended + 1
    if runId ~= nil then
      if key ~= "" then
        redis.call("HSET", state, "k:" .. key, id .. " " .. seqText, "s:" .. seqText, key)
      end
      if callMode then
        callFirstSeq = callFirstSeq or seq
        callRecord[#callRecord + 1] = id .. " " .. seqText
      elseif seq > IDEM_WINDOW then
        local old = redis.call("HGET", state, "s:" .. (seq - IDEM_WINDOW))
        if old then redis.call("HDEL", state, "k:" .. old, "s:" .. (seq - IDEM_WINDOW)) end
      end
      if event.type == "done" then doneId = id end
    end
    local live
    if rest then
      live = '{"id":"' .. id .. '","seq":' .. seqText .. ',' .. rest
    else
      live = '{"id":"' .. id .. '",' .. string.sub(body, 2)
    end
    redis.call(publishCommand, channel, live)
    out[#out + 1] = id
    out[#out + 1] = seq
    out[#out + 1] = 0
  end
end
writeBack(firstRunId)
return out
