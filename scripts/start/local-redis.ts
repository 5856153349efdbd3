import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync } from "node:fs";
import { pickPort } from "./free-port.js";
import { pingRedis } from "./redis-ping.js";

export interface LocalRedis {
  url: string;
  port: number;
  dir: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

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
 * on `port`, else 6379 when free, else on a free port. Resolves once it answers PING.
 */
export async function startLocalRedis(
  bin: string,
  dir: string,
  onLine: (line: string) => void,
  port?: number,
): Promise<LocalRedis> {
  mkdirSync(dir, { recursive: true });
  const listen = port ?? (await pickPort(6379));
  const args = [
    "--port",
    String(listen),
    "--bind",
    "127.0.0.1",
    "--dir",
    dir,
    "--appendonly",
    "yes",
    "--save",
    "",
    "--protected-mode",
    "no",
    // Its start-up banner is noise next to the services' logs; warnings still show.
    "--loglevel",
    "warning",
  ];
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
  for (const stream of [child.stdout, child.stderr]) {
    stream?.setEncoding("utf8");
    stream?.on("data", (chunk: string) => chunk.split("\n").filter(Boolean).forEach(onLine));
  }
  const url = `redis://127.0.0.1:${listen}`;
  const exited = new Promise<never>((_, reject) =>
    child.once("exit", (code) => reject(new Error(`redis-server exited with code ${code} before answering`))),
  );
  exited.catch(() => {});
  const deadline = Date.now() + 15_000;
  for (;;) {
    const ping = await Promise.race([pingRedis(url, 500), exited]);
    if (ping.ok) break;
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`redis-server on port ${listen} did not answer PING: ${ping.reason}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    url,
    port: listen,
    dir,
    process: child,
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        child.once("exit", () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill("SIGTERM");
      }),
  };
}
