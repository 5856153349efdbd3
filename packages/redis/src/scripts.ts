import { readFileSync } from "node:fs";
import type { ClientContext, Result } from "ioredis";
import type { RedisClient } from "./connections.js";

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext = { type: "default" }> {
    /** See lua/publishEvent-3.lua (KEYS/ARGV contract and errors). */
    threadlinePublishEvent(
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
    ): Result<[string, number, number], Context>;
    /** See lua/archiveTouch-1.lua. */
    threadlineArchiveTouch(dirty: string, threadId: string, nowMs: string): Result<number, Context>;
    /** See lua/archiveSettle-1.lua. */
    threadlineArchiveSettle(dirty: string, threadId: string, score: string): Result<number, Context>;
    /** See lua/hsetIfExists-1.lua. */
    threadlineHsetIfExists(key: string, field: string, value: string): Result<number, Context>;
  }
}

/** The publish script's file name (`<name>-<numKeys>.lua`), shared with non-TypeScript producers. */
export const PUBLISH_SCRIPT_FILE = "publishEvent-3.lua";

let publishEventLua: string | undefined;
let archiveTouchLua: string | undefined;
let archiveSettleLua: string | undefined;
let hsetIfExistsLua: string | undefined;

/** The publish script's source: a Lua file next to this module (src/lua in dev, dist/lua when built). */
export function publishScriptSource(): string {
  publishEventLua ??= readFileSync(new URL(`./lua/${PUBLISH_SCRIPT_FILE}`, import.meta.url), "utf8");
  return publishEventLua;
}

/** Registers Threadline's scripts on a connection (EVALSHA with a transparent EVAL fallback). */
export function defineScripts(client: RedisClient): void {
  if ("threadlinePublishEvent" in client && typeof client.threadlinePublishEvent === "function") return;
  client.defineCommand("threadlinePublishEvent", { numberOfKeys: 3, lua: publishScriptSource() });
  archiveTouchLua ??= loadLua("archiveTouch-1.lua");
  client.defineCommand("threadlineArchiveTouch", { numberOfKeys: 1, lua: archiveTouchLua });
  archiveSettleLua ??= loadLua("archiveSettle-1.lua");
  client.defineCommand("threadlineArchiveSettle", { numberOfKeys: 1, lua: archiveSettleLua });
  hsetIfExistsLua ??= loadLua("hsetIfExists-1.lua");
  client.defineCommand("threadlineHsetIfExists", { numberOfKeys: 1, lua: hsetIfExistsLua });
}

/** Reads a Lua file that sits next to this module (src/lua in dev, dist/lua when built). */
function loadLua(name: string): string {
  return readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8");
}
