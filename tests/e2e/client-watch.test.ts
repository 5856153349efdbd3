import { signDevToken } from "@threadline/auth";
import {
  createThreadlineClient,
  ThreadlineError,
  type WatchChange,
  type WatchItem,
  type WatchOptions,
  type WatchStateChange,
  type WebSocketConstructor,
} from "@threadline/client";
import { DEV_JWT_SECRET } from "@threadline/config";
import { createRedisClient, type RedisClient } from "@threadline/redis";
import { type ServiceInstance, startServiceProcess, uniqueId } from "@threadline/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { readThreadLog, startDemoRun } from "../scale/run-client.js";

// client.watch(): many threads over ONE WebSocket, against two real gateways behind a real nginx.
let topology: Topology;
const restartedGateways: ServiceInstance[] = [];
const GATEWAY_ENV = { HEARTBEAT_INTERVAL_MS: "2000" };
let redis: RedisClient;
const SUB = "watch-e2e";
const token = signDevToken(DEV_JWT_SECRET, { sub: SUB, threads: ["*"], ttlSeconds: 3600 });

beforeAll(async () => {
  topology = await startTopology({
    gateways: 2,
    apis: 1,
    // Six tsx processes starting at once on a loaded 2-core box.
    readyTimeoutMs: 150_000,
    workers: 2,
    envFor: {
      gateway: GATEWAY_ENV,
      api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" },
      worker: { WORKER_CONCURRENCY: "50" },
    },
  });
  redis = createRedisClient({ url: topology.redisEnv.REDIS_URL! }, { name: "watch-e2e" });
}, 240_000);

afterAll(async () => {
  redis?.disconnect();
  await Promise.all(restartedGateways.map((g) => g.process.stop(5_000)));
  await topology?.stop();
}, 60_000);

function watcher(
  threads: readonly string[] | AsyncIterable<WatchChange>,
  getToken = () => token,
  transport: WatchOptions["transport"] = "auto",
) {
  const client = createThreadlineClient({
    apiUrl: topology.url,
    gatewayUrl: topology.url,
    getToken,
    WebSocket: WebSocket as unknown as WebSocketConstructor,
  });
  const controller = new AbortController();
  const items: WatchItem[] = [];
  const changes: WatchStateChange[] = [];
  const done = (async () => {
    for await (const item of client.watch(threads, {
      from: "start",
      transport,
      signal: controller.signal,
      backoff: { initialDelayMs: 50, maxDelayMs: 500 },
      onStateChange: (c) => changes.push(c),
    }))
      items.push(item);
  })();
  return { items, changes, done, stop: () => controller.abort() };
}

const eventsOf = (items: WatchItem[], threadId: string) =>
  items.flatMap((i) => (i.kind === "event" && i.threadId === threadId ? [i.event] : []));
const sawDone = (items: WatchItem[], threadId: string) =>
  eventsOf(items, threadId).some((e) => e.type === "done");

async function until(check: () => boolean, what: string, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe("client.watch over WebSocket (and its SSE fallback), through nginx", () => {
  it.each(["websocket", "sse"] as const)(
    "50 threads with concurrent demo runs on ONE connection (%s); a gateway SIGKILLed mid-run and CLIENT KILL of the subscriber lose and double nothing",
    {
      timeout: 180_000,
    },
    async (transport) => {
      const threads = Array.from({ length: 50 }, () => uniqueId("watch"));
      const w = watcher(threads, () => token, transport);
      await until(() => w.changes.some((c) => c.state === "live"), "the connection to open");
      expect(w.changes.every((c) => c.transport === transport)).toBe(true);
      const runIds = await Promise.all(
        threads.map((t, i) =>
          startDemoRun(topology.url, t, { prompt: `run ${i}`, tokensPerSecond: 40, maxTokens: 120 }),
        ),
      );
      await until(() => threads.every((t) => eventsOf(w.items, t).length >= 5), "every run to be streaming");
      // Which gateway holds the socket: the one with an open stream.
      let open: number[] = [];
      for (let i = 0; i < 50 && !open.some((n) => n > 0); i++) {
        open = await Promise.all(topology.gateways.map((g) => openStreams(g.url)));
        if (!open.some((n) => n > 0)) await new Promise((r) => setTimeout(r, 100));
      }
      const victim = topology.gateways[open.findIndex((n) => n > 0)];
      if (!victim)
        throw new Error(
          `no gateway reports the socket: ${open} ${await metricsText(topology.gateways[0]!.url)}`,
        );
      const livesBefore = w.changes.filter((c) => c.state === "live").length;
      const killedAt = Date.now();
      await victim.process.kill("SIGKILL");
      // The killed gateway comes back on its port (in nginx's upstream list) for the next transport.
      const restarted = startServiceProcess({
        kind: "gateway",
        name: `${victim.name}-restarted`,
        port: victim.port,
        env: { LOG_LEVEL: "warn", ...topology.redisEnv, ...GATEWAY_ENV },
        readyTimeoutMs: 120_000,
      }).then((instance) => {
        restartedGateways.push(instance);
        topology.gateways[topology.gateways.indexOf(victim)] = instance;
      });
      await until(
        () => w.changes.filter((c) => c.state === "live").length > livesBefore,
        "a reconnect to the other gateway",
      );
      const backAfterMs = Date.now() - killedAt;
      await redis.call("CLIENT", "KILL", "TYPE", "pubsub");
      await until(() => threads.every((t) => sawDone(w.items, t)), "every run's done", 150_000);
      w.stop();
      await w.done;
      await restarted;
      for (const [i, t] of threads.entries()) {
        const log = await readThreadLog(topology.url, t);
        expect(eventsOf(w.items, t).map((e) => e.id)).toEqual(log.map((e) => e.id));
        expect(
          eventsOf(w.items, t)
            .filter((e) => e.runId === runIds[i])
            .at(-1)?.type,
        ).toBe("done");
      }
      expect(w.items.filter((i) => i.kind !== "event")).toEqual([]);
      expect(w.changes.every((c) => c.transport === transport)).toBe(true);
      const delivered = threads.reduce((sum, t) => sum + eventsOf(w.items, t).length, 0);
      console.info(
        `[client-watch] ${transport}: gateway SIGKILL → live on the other in ${backAfterMs} ms; ${delivered} events of 50 threads equal their logs`,
      );
    },
  );

  it("follows an async iterable of changes on the same socket (add, remove) without reconnecting", async () => {
    const [a, b] = [uniqueId("chg"), uniqueId("chg")];
    const pending: WatchChange[] = [];
    let wake = () => {};
    const push = (change: WatchChange) => {
      pending.push(change);
      wake();
    };
    const changes: AsyncIterable<WatchChange> = {
      async *[Symbol.asyncIterator]() {
        for (;;) {
          const next = pending.shift();
          if (next) yield next;
          else await new Promise<void>((r) => (wake = r));
        }
      },
    };
    const w = watcher(changes);
    push({ add: [a] });
    await until(() => w.changes.some((c) => c.state === "live"), "live");
    await startDemoRun(topology.url, a, { prompt: "a", tokensPerSecond: 200, maxTokens: 5 });
    await until(() => sawDone(w.items, a), "a's done");
    push({ add: [b], remove: [a] });
    await startDemoRun(topology.url, b, { prompt: "b", tokensPerSecond: 200, maxTokens: 5 });
    await until(() => sawDone(w.items, b), "b's done");
    const before = eventsOf(w.items, a).length;
    await startDemoRun(topology.url, a, { prompt: "a again", tokensPerSecond: 200, maxTokens: 5 });
    await new Promise((r) => setTimeout(r, 1_000));
    expect(eventsOf(w.items, a)).toHaveLength(before);
    expect(eventsOf(w.items, b).map((e) => e.id)).toEqual(
      (await readThreadLog(topology.url, b)).map((e) => e.id),
    );
    expect(w.changes.filter((c) => c.state === "live")).toHaveLength(1);
    w.stop();
    await w.done;
  });

  it("fails for good on a token the gateway refuses (401 learned by a plain GET, after one fresh token)", async () => {
    const reasons: string[] = [];
    const client = createThreadlineClient({
      apiUrl: topology.url,
      gatewayUrl: topology.url,
      getToken: ({ reason }) => {
        reasons.push(reason);
        return "not-a-jwt";
      },
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
    const failure = await (async () => {
      for await (const _ of client.watch([uniqueId()])) {
        // nothing arrives
      }
    })().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ThreadlineError);
    expect(failure).toMatchObject({ status: 401, code: "TOKEN_INVALID" });
    // (A 502 from nginx while the gateway SIGKILLed above is still in its upstream list is retried.)
    expect(reasons[0]).toBe("initial");
    expect(reasons.filter((r) => r === "expired")).toEqual(["expired"]);
    expect(reasons.at(-1)).toBe("expired");
  });
});

async function openStreams(base: string): Promise<number> {
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    const line = text.split("\n").find((l) => l.startsWith("threadline_gateway_open_streams "));
    return line ? Number(line.split(" ")[1]) : 0;
  } catch {
    return 0;
  }
}

async function metricsText(base: string): Promise<string> {
  try {
    return (await (await fetch(`${base}/metrics`)).text())
      .split("\n")
      .filter((l) => l.includes("open_streams"))
      .join(" | ");
  } catch (error) {
    return String(error);
  }
}
