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
  /** The redis-server binary. Default `redis-server` on PATH. */
  bin?: string;
  /** A command that runs redis-server, e.g. `["taskset", "-c", "1"]` to pin it to a core. */
  wrapper?: string[];
  /** Receives the server's own log lines (warnings and up); default: kept for error messages only. */
  onLine?(line: string): void;
  /** Own process group: a Ctrl-C to the caller's group does not reach it (the caller stops it in order). */
  detached?: boolean;
}

export interface RedisServer {
  url: string;
  port: number;
  dir: string;
  /** Stops (SIGKILL when `hard`), keeping the data dir so `start()` can bring it back. */
  stop(hard?: boolean): Promise<void>;
  /** Starts again on the same port with the same data dir. */
  start(): Promise<void>;
  /** The running server's pid, if it runs. */
  pid(): number | undefined;
  /** SIGTERM now, without waiting (for `process.on("exit")` handlers). */
  killNow(): void;
  /** Stops and removes the data dir. */
  dispose(): Promise<void>;
}

/**
 * Spawns a real `redis-server` on a free loopback port with its own temp dir: the one local-redis
 * helper behind tests (`getTestRedis`), `pnpm start` (AOF in .threadline/redis) and the bench.
 */
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
    const bin = options.bin ?? "redis-server";
    const [command, ...prefix] = [...(options.wrapper ?? []), bin];
    const proc = spawn(command ?? bin, [...prefix, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      detached: options.detached ?? false,
    });
    child = proc;
    let stderr = "";
    for (const stream of [proc.stdout, proc.stderr]) {
      stream?.setEncoding("utf8");
      stream?.on("data", (chunk: string) => {
        stderr = (stderr + chunk).slice(-8_192);
        if (options.onLine) for (const line of chunk.split("\n").filter(Boolean)) options.onLine(line);
      });
    }
    const exited = new Promise<never>((_, reject) =>
      proc.once("exit", (code) => reject(new Error(`redis-server exited (code ${code}): ${stderr.trim()}`))),
    );
    exited.catch(() => {});
    const spawnError = new Promise<never>((_, reject) =>
      proc.once("error", (e) => reject(new Error(`cannot run ${bin}: ${e.message}`))),
    );
    try {
      await Promise.race([waitForPing(url, 10_000, () => stderr), spawnError, exited]);
    } catch (error) {
      proc.kill("SIGKILL");
      throw error;
    }
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
    pid: () => (child && child.exitCode === null ? child.pid : undefined),
    killNow: () => {
      if (child && child.exitCode === null) child.kill("SIGTERM");
    },
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
