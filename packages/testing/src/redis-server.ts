import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import getPort from "get-port";
import { Redis } from "ioredis";

export interface RedisServerOptions {
  /** `appendonly yes`: the data survives a restart. Default off. */
  appendOnly?: boolean;
  port?: number;
  /** Extra `--flag value` arguments, e.g. ["--cluster-enabled", "yes"]. */
  args?: string[];
  dir?: string;
  /** The redis-server binary. Default `$REDIS_SERVER_BIN` or `redis-server` on PATH. */
  bin?: string;
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Stops (SIGKILL when `hard`), keeping the data dir so `start()` can bring it back. */
  stop(hard?: boolean): Promise<void>;
  /** Starts again on the same port with the same data dir. */
  start(): Promise<void>;
  /** Stops and removes the data dir. */
  dispose(): Promise<void>;
}

/** The redis-server binary: `$REDIS_SERVER_BIN`, else `redis-server` on PATH (read when used, not at import). */
export function redisServerBin(env: Record<string, string | undefined> = process.env): string {
  return env.REDIS_SERVER_BIN ?? "redis-server";
}

/** Spawns a real `redis-server` on a free loopback port with its own temp dir. */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const port = options.port ?? (await getPort({ host: "127.0.0.1" }));
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), "threadline-redis-"));
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;

  const start = async () => {
    const args = [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--dir",
      dir,
      "--save",
      "",
      "--appendonly",
      options.appendOnly ? "yes" : "no",
      "--appendfsync",
      "always",
      "--daemonize",
      "no",
      "--loglevel",
      "warning",
      "--protected-mode",
      "no",
      ...(options.args ?? []),
    ];
    const bin = options.bin ?? redisServerBin();
    const proc = spawn(bin, args, { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    let stderr = "";
    proc.stderr?.on("data", (d: Buffer) => {
      stderr += d.toString();
    });
    const spawnError = new Promise<never>((_, reject) =>
      proc.once("error", (e) => reject(new Error(`cannot run ${bin}: ${e.message}`))),
    );
    await Promise.race([waitForPing(url, 10_000, () => stderr), spawnError]);
  };

  const stop = async (hard = false) => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    proc.kill(hard ? "SIGKILL" : "SIGTERM");
    await exited;
  };

  await start();
  return {
    url,
    port,
    dir,
    stop,
    start,
    async dispose() {
      await stop(true);
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPing(url: string, timeoutMs: number, stderr: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return;
    } catch {
      if (Date.now() > deadline) throw new Error(`redis-server on ${url} did not answer: ${stderr().trim()}`);
      await new Promise((r) => setTimeout(r, 25));
    } finally {
      client.disconnect();
    }
  }
}
