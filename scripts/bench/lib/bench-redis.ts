/** The bench's own redis-server: a free port, pinned, enough client slots for S3's 10k subscribers. */
import { freePort, type ManagedProcess, startProcess } from "@threadline/testing";
import { Redis } from "ioredis";
import { pinningAvailable } from "./processes.js";

export interface BenchRedis {
  url: string;
  proc: ManagedProcess;
  /** `used_memory` and `connected_clients` from INFO. */
  info(): Promise<{ usedMemory: number; clients: number }>;
  stop(): Promise<void>;
}

export async function startBenchRedis(core: number | undefined): Promise<BenchRedis> {
  const port = await freePort();
  const args = ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"];
  args.push("--maxclients", "60000", "--protected-mode", "no", "--loglevel", "warning");
  const pinned = core !== undefined && pinningAvailable();
  const proc = await startProcess({
    name: "redis-server",
    command: pinned ? "taskset" : "redis-server",
    args: pinned ? ["-c", String(core), "redis-server", ...args] : args,
    env: { ...process.env },
  });
  const url = `redis://127.0.0.1:${port}`;
  const admin = await connectWhenUp(url, proc);
  return {
    url,
    proc,
    async info() {
      const text = await admin.info();
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(text)?.[1] ?? 0);
      return { usedMemory: field("used_memory"), clients: field("connected_clients") };
    },
    async stop() {
      admin.disconnect();
      await proc.stop();
    },
  };
}

async function connectWhenUp(url: string, proc: ManagedProcess): Promise<Redis> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const client = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
    client.on("error", () => {});
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (error) {
      client.disconnect();
      if (!proc.alive() || Date.now() > deadline) {
        throw new Error(`redis-server did not start: ${(error as Error).message}\n${proc.output()}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
