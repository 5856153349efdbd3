--[[
  A new run's first write (the API's POST runs): claims its thread exactly as claimThread-1.lua does
  and, unless the thread's owner is not one the caller may act for, applies the run's `start`
  transition exactly as runTransition-5.lua does. One round trip instead of two, and one atomic step:
  a `status queued` is never there without its thread's claim.

  Not loaded alone: scripts.ts prepends claimThread-1.lua as `local function claimThread(KEYS, ARGV)`
  and runTransition-5.lua (the publish script inside it) as `local function runTransition(KEYS, ARGV)`.

  KEYS     runTransition-5.lua's five; KEYS[2], the thread meta, is the claim's key
  ARGV[1]  claimant         who claims an unowned thread (claimThread's ARGV[1])
  ARGV[2]  createdAt        kept from the first claim (claimThread's ARGV[2])
  ARGV[3]  "1" when the archive follows threads (claimThread's ARGV[4])
  ARGV[4]  required owner   "" when the caller may use the thread whoever owns it (an admin, a token
                            that lists it); else the subject the owner must be
  ARGV[5 ..]                runTransition-5.lua's ARGV; its ttl (ARGV[3] there) is the claim's too

  Returns  runTransition-5.lua's reply
  Errors   FORBIDDEN <owner> when the thread's owner is not the required one: the claim wrote only what
           a claim of an owned thread writes, and the transition did not run. Else runTransition's.
]]
local transitionArgs = {}
for i = 5, #ARGV do transitionArgs[#transitionArgs + 1] = ARGV[i] end
local owner = claimThread({ KEYS[2] }, { ARGV[1], ARGV[2], transitionArgs[3], ARGV[3] })
if ARGV[4] ~= "" and owner ~= ARGV[4] then
  return redis.error_reply("FORBIDDEN " .. tostring(owner))
end
return runTransition(KEYS, transitionArgs)
