import { spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { type RedisServer, startRedisServer } from "@threadline/testing";
import { pickPort } from "./free-port.js";

export type LocalRedis = RedisServer;

/** The message printed when there is no Redis to use and none to start. */
export const HOW_TO_GET_REDIS = [
  "Threadline needs Redis (>= 7). Nothing answered at REDIS_URL and no `redis-server` binary was found. Get one:",
  "  Debian/Ubuntu:  sudo apt-get install -y redis-server",
  "  macOS:          brew install redis",
  "  Docker:         docker compose up -d redis      (then run pnpm start again)",
  "or point REDIS_URL at a running Redis: REDIS_URL=redis://host:6379 pnpm start",
].join("\n");

/** True when a `redis-server` binary can be run. */
export function hasRedisServer(bin: string): boolean {
  const probe = spawnSync(bin, ["--version"], { stdio: "ignore" });
  return probe.error === undefined && probe.status === 0;
}

/**
 * Starts `redis-server` with its data in `dir` and AOF on (runs survive a restart of `pnpm start`),
 * on `port`, else 6379 when free, else on a free port; resolves once it answers PING. The same
 * helper tests and the bench use (packages/testing), in its own process group so Ctrl-C reaches the
 * services first and Redis is stopped last.
 */
export async function startLocalRedis(
  bin: string,
  dir: string,
  onLine: (line: string) => void,
  port?: number,
): Promise<LocalRedis> {
  mkdirSync(dir, { recursive: true });
  return startRedisServer({
    bin,
    dir,
    port: port ?? (await pickPort(6379)),
    appendOnly: true,
    // Every second is plenty for a developer's machine; tests keep `always`.
    args: ["--appendfsync", "everysec"],
    onLine,
    detached: true,
  });
}
