/** The bench's own redis-server: a free port, pinned, enough client slots for S3's 10k subscribers. */
import { startRedisServer } from "@threadline/testing";
import { Redis } from "ioredis";
import { pinningAvailable } from "./processes.js";

export interface BenchRedis {
  url: string;
  /** The server's pid (S5 and the capacity check read its CPU time). */
  pid: number;
  /** `used_memory` and `connected_clients` from INFO. */
  info(): Promise<{ usedMemory: number; clients: number }>;
  stop(): Promise<void>;
}

export async function startBenchRedis(core: number | undefined): Promise<BenchRedis> {
  // taskset execs redis-server, so the pid stays the server's own.
  const pinned = core !== undefined && pinningAvailable();
  const server = await startRedisServer({
    args: ["--maxclients", "60000"],
    ...(pinned ? { wrapper: ["taskset", "-c", String(core)] } : {}),
  });
  const admin = new Redis(server.url);
  const pid = server.pid();
  if (pid === undefined) throw new Error("the bench's redis-server exited right after starting");
  return {
    url: server.url,
    pid,
    async info() {
      const text = await admin.info();
      const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, "m").exec(text)?.[1] ?? 0);
      return { usedMemory: field("used_memory"), clients: field("connected_clients") };
    },
    async stop() {
      admin.disconnect();
      await server.dispose();
    },
  };
}
