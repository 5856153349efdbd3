import { readFileSync } from "node:fs";
import type { ClientContext, Result } from "ioredis";
import type { RedisClient } from "./connections.js";

declare module "ioredis" {
  interface RedisCommander<Context extends ClientContext = { type: "default" }> {
    /** See lua/publishEvent-2.lua. */
    threadlinePublishEvent(
      log: string,
      meta: string,
      channel: string,
      seqField: string,
      payload: string,
      maxLen: number,
      ttlSeconds: number,
      publishCommand: "PUBLISH" | "SPUBLISH",
    ): Result<[string, number], Context>;
  }
}

let publishEventLua: string | undefined;

/** Reads a Lua file that sits next to this module (src/lua in dev, dist/lua when built). */
function loadLua(name: string): string {
  return readFileSync(new URL(`./lua/${name}`, import.meta.url), "utf8");
}

/** Registers Threadline's scripts on a connection (EVALSHA with a transparent EVAL fallback). */
export function defineScripts(client: RedisClient): void {
  if ("threadlinePublishEvent" in client && typeof client.threadlinePublishEvent === "function") return;
  publishEventLua ??= loadLua("publishEvent-2.lua");
  client.defineCommand("threadlinePublishEvent", { numberOfKeys: 2, lua: publishEventLua });
}
