import { readFileSync } from "node:fs";
import type { ClientContext, Result } from "ioredis";
import type { RedisClient } from "./connections.js";

/**
 * The first (or only) event's KEYS and ARGV of lua/publishEvent-3.lua, in order: both call forms below
 * start with them, so a change to the script's contract is made here once.
 */
type PublishEventArgs = [
  log: string,
  meta: string,
  runState: string,
  channel: string,
  payload: string,
  maxLen: number,
  ttlSeconds: number,
  publishCommand: "PUBLISH" | "SPUBLISH",
  idempotencyKey: string,
  attempt: string,
];

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext = { type: "default" }> {
    /** See lua/publishEvent-3.lua (KEYS/ARGV contract and errors). */
    threadlinePublishEvent(...args: PublishEventArgs): Result<[string, number, number], Context>;
    /**
     * Several events of one run in one call (lua/publishEvent-3.lua, "More events"): after the first
     * event's arguments, each further event's payload and idempotency key. One (id, seq, repeat) triple
     * per event; a refusal after the first event is an Error as the last element.
     */
    threadlinePublishEvent(
      ...args: [...PublishEventArgs, ...morePayloadsAndKeys: string[]]
    ): Result<(string | number | Error)[], Context>;
    /** See lua/runTransition-5.lua (argument layout built by run-lifecycle.ts). */
    threadlineRunTransition(...args: (string | number)[]): Result<(string | number)[], Context>;
    /** See lua/claimAndStart-5.lua: the claim's four arguments, then runTransition-5.lua's arguments. */
    threadlineClaimAndStart(...args: (string | number)[]): Result<(string | number)[], Context>;
    /** See lua/claimThread-1.lua. */
    threadlineClaimThread(
      meta: string,
      subject: string,
      createdAt: string,
      ttlSeconds: number,
      archiveFollows: "0" | "1",
    ): Result<string, Context>;
    /** See lua/archiveTouch-1.lua. */
    threadlineArchiveTouch(dirty: string, threadId: string, nowMs: string): Result<number, Context>;
    /** See lua/archiveProgress-2.lua. */
    threadlineArchiveProgress(log: string, meta: string, cursor: string): Result<number, Context>;
    /** See lua/archiveSettle-1.lua. */
    threadlineArchiveSettle(dirty: string, threadId: string, score: string): Result<number, Context>;
    /** See lua/deleteThread.lua: numkeys, then its keys, then the fence ttl. */
    threadlineDeleteThread(numKeys: number, ...keysThenTtl: (string | number)[]): Result<number[], Context>;
    /** See lua/hsetIfExists-1.lua. */
    threadlineHsetIfExists(key: string, field: string, value: string): Result<number, Context>;
  }
}

/** The publish script's file (`<name>-<numKeys>.lua`); non-TypeScript producers load it by path. */
const PUBLISH_SCRIPT_FILE = "publishEvent-3.lua";

const sources = new Map<string, string>();

/** Reads a Lua file that sits next to this module (src/lua in dev, dist/lua when built). */
function loadLua(name: string): string {
  let lua = sources.get(name);
  if (lua === undefined) {
    lua = readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8");
    sources.set(name, lua);
  }
  return lua;
}

/** The publish script's source, for callers that EVAL it bare the way other languages' producers do. */
export function publishScriptSource(): string {
  return loadLua(PUBLISH_SCRIPT_FILE);
}

/**
 * The lifecycle script runs every event through the publish script's own code (one definition of what
 * publishing an event means): publishEvent-3.lua becomes a local function of runTransition-5.lua.
 */
function runTransitionSource(): string {
  return `${localFunction("publishOne", publishScriptSource())}${loadLua("runTransition-5.lua")}`;
}

/** A script's source as a local function of another script, called with its own KEYS and ARGV. */
function localFunction(name: string, source: string): string {
  return `local function ${name}(KEYS, ARGV)\n${source}\nend\n`;
}

/**
 * A new run's claim and start in one script: claimThread-1.lua and runTransition-5.lua become local
 * functions of claimAndStart-5.lua, so each stays the one definition of what it does.
 */
function claimAndStartSource(): string {
  return (
    localFunction("publishOne", publishScriptSource()) +
    localFunction("runTransition", loadLua("runTransition-5.lua")) +
    localFunction("claimThread", loadLua("claimThread-1.lua")) +
    loadLua("claimAndStart-5.lua")
  );
}

/** Each script: the command it is registered as, its source, its number of keys (absent: the caller passes it). */
const SCRIPTS = [
  { command: "threadlinePublishEvent", source: publishScriptSource, numberOfKeys: 3 },
  { command: "threadlineRunTransition", source: runTransitionSource, numberOfKeys: 5 },
  { command: "threadlineClaimThread", source: () => loadLua("claimThread-1.lua"), numberOfKeys: 1 },
  { command: "threadlineClaimAndStart", source: claimAndStartSource, numberOfKeys: 5 },
  { command: "threadlineArchiveTouch", source: () => loadLua("archiveTouch-1.lua"), numberOfKeys: 1 },
  { command: "threadlineArchiveProgress", source: () => loadLua("archiveProgress-2.lua"), numberOfKeys: 2 },
  { command: "threadlineArchiveSettle", source: () => loadLua("archiveSettle-1.lua"), numberOfKeys: 1 },
  { command: "threadlineHsetIfExists", source: () => loadLua("hsetIfExists-1.lua"), numberOfKeys: 1 },
  { command: "threadlineDeleteThread", source: () => loadLua("deleteThread.lua"), numberOfKeys: undefined },
] as const;

/** Registers Threadline's scripts on a connection (EVALSHA with a transparent EVAL fallback). */
export function defineScripts(client: RedisClient): void {
  for (const { command, source, numberOfKeys } of SCRIPTS) {
    if (typeof (client as unknown as Record<string, unknown>)[command] === "function") continue;
    client.defineCommand(
      command,
      numberOfKeys === undefined ? { lua: source() } : { numberOfKeys, lua: source() },
    );
  }
}
