import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { uniqueId } from "@threadline/testing";
import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTopology, type Topology } from "../../scripts/topology/start-topology.js";
import { expectCompleteRun } from "./expect-complete.js";
import { openThread, readThreadLog, received, sawDone, startDemoRun, TOKEN } from "./run-client.js";

const exec = promisify(execFile);
let topology: Topology;

// gateway-1 subscribes one connection per stream, gateway-2 multiplexes: both must SSUBSCRIBE on the
// shard that owns each thread's slot.
const MODES = { 1: "dedicated", 2: "shared" } as const;

beforeAll(async () => {
  topology = await startTopology({
    redis: "cluster",
    gateways: 2,
    apis: 1,
    workers: 2,
    nginx: false,
    envFor: { api: { RATE_LIMIT_RUNS_PER_MINUTE: "0" } },
    instanceEnv: (kind, i) => (kind === "gateway" ? { SUBSCRIBER_MODE: MODES[i as 1 | 2] } : undefined),
  });
}, 120_000);

afterAll(async () => {
  await topology?.stop();
}, 60_000);

/** Threads whose slots fall on every master, so each shard's subscriber is exercised. */
async function threadsOnEveryMaster(perMaster: number): Promise<string[]> {
  const owners = await slotOwners();
  const byMaster = new Map<number, string[]>();
  while ([...owners.values()].some((port) => (byMaster.get(port)?.length ?? 0) < perMaster)) {
    const threadId = uniqueId("cl");
    const port = owners.get(await keySlot(`thread:${threadId}`))!;
    const list = byMaster.get(port) ?? [];
    if (list.length < perMaster) byMaster.set(port, [...list, threadId]);
  }
  return [...byMaster.values()].flat();
}

describe("runs end to end on a 3-master Redis Cluster", () => {
  it("streams demo runs on threads of every shard to clients of both subscriber modes", async () => {
    const threads = await threadsOnEveryMaster(2);
    const clients = await Promise.all(
      threads.flatMap((t) => topology.gateways.map((g) => openThread(g.url, t))),
    );
    const runIds = await Promise.all(
      threads.map((t) =>
        startDemoRun(topology.apis[0]!.url, t, { prompt: t, tokensPerSecond: 200, maxTokens: 20 }),
      ),
    );
    await Promise.all(clients.map((c) => c.waitFor(sawDone, 30_000)));
    for (const c of clients) c.close();
    for (const [i, threadId] of threads.entries()) {
      const log = await readThreadLog(topology.apis[0]!.url, threadId);
      expectCompleteRun(received(clients[2 * i]!), log, runIds[i]!);
      expectCompleteRun(received(clients[2 * i + 1]!), log, runIds[i]!);
    }
  });

  it("CLIENT KILL TYPE pubsub on every master mid-run loses nothing (the gateways backfill from the log)", async () => {
    const threads = await threadsOnEveryMaster(1);
    const clients = await Promise.all(
      threads.flatMap((t) => topology.gateways.map((g) => openThread(g.url, t))),
    );
    const before = await Promise.all(topology.gateways.map((g) => resubscribes(g.url)));
    const runIds = await Promise.all(
      threads.map((t) =>
        startDemoRun(topology.apis[0]!.url, t, { prompt: t, tokensPerSecond: 40, maxTokens: 60 }),
      ),
    );
    await Promise.all(clients.map((c) => c.waitFor((s) => s.events.length >= 6, 15_000)));
    expect(clients.some(sawDone)).toBe(false);
    const killed = await Promise.all(
      topology.cluster!.nodes.map(async ({ port }) => {
        const admin = new Redis(port, "127.0.0.1");
        try {
          return Number(await admin.call("CLIENT", "KILL", "TYPE", "pubsub"));
        } finally {
          admin.disconnect();
        }
      }),
    );
    expect(
      killed.every((n) => n > 0),
      `pubsub connections killed per master: ${killed}`,
    ).toBe(true);

    await Promise.all(clients.map((c) => c.waitFor(sawDone, 30_000)));
    for (const c of clients) c.close();
    for (const [i, threadId] of threads.entries()) {
      const log = await readThreadLog(topology.apis[0]!.url, threadId);
      expectCompleteRun(received(clients[2 * i]!), log, runIds[i]!);
      expectCompleteRun(received(clients[2 * i + 1]!), log, runIds[i]!);
    }
    const after = await Promise.all(topology.gateways.map((g) => resubscribes(g.url)));
    expect(after[0]!, "dedicated mode resubscribed").toBeGreaterThan(before[0]!);
    expect(after[1]!, "shared mode resubscribed").toBeGreaterThan(before[1]!);
  });

  it("cancels a running run across processes (the control channel works on a cluster)", async () => {
    const threadId = uniqueId("cancel");
    const client = await openThread(topology.gateways[0]!.url, threadId);
    const api = topology.apis[0]!.url;
    const runId = await startDemoRun(api, threadId, { prompt: "long", tokensPerSecond: 20, maxTokens: 400 });
    await client.waitFor((c) => c.json().some((e) => e.type === "token"), 15_000);
    const res = await fetch(`${api}/v1/threads/${threadId}/runs/${runId}/cancel`, {
      method: "POST",
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(202);
    await client.waitFor(sawDone, 15_000);
    client.close();
    const events = received(client);
    expect(events.at(-1)).toMatchObject({ type: "done", content: { finishReason: "cancelled" } });
    expect(
      events.some((e) => e.type === "status" && (e.content as { state?: string }).state === "cancelled"),
    ).toBe(true);
  });

  it("delivers a hand `redis-cli -c spublish thread:<id>` to clients of both modes", async () => {
    const threadId = uniqueId("hand");
    const clients = await Promise.all(topology.gateways.map((g) => openThread(g.url, threadId)));
    const port = String(topology.cluster!.nodes[0]!.port);
    await exec("redis-cli", [
      "-c",
      "-p",
      port,
      "spublish",
      `thread:${threadId}`,
      '{"type":"token","content":"hi"}',
    ]);
    await Promise.all(clients.map((c) => c.waitForEvents(1, 5_000)));
    for (const c of clients) {
      c.close();
      expect(c.json()[0]).toMatchObject({ type: "token", content: "hi", threadId });
    }
  });
});

async function resubscribes(gatewayUrl: string): Promise<number> {
  const text = await (await fetch(`${gatewayUrl}/metrics`)).text();
  const line = text.split("\n").find((l) => l.startsWith("threadline_gateway_resubscribes_total"));
  return Number(line?.split(" ").at(-1) ?? 0);
}

async function slotOwners(): Promise<Map<number, number>> {
  const admin = new Redis(topology.cluster!.nodes[0]!.port, "127.0.0.1");
  try {
    const ranges = (await admin.call("CLUSTER", "SLOTS")) as [number, number, [string, number]][];
    const owners = new Map<number, number>();
    for (const [from, to, [, port]] of ranges) for (let s = from; s <= to; s++) owners.set(s, port);
    return owners;
  } finally {
    admin.disconnect();
  }
}

async function keySlot(key: string): Promise<number> {
  const admin = new Redis(topology.cluster!.nodes[0]!.port, "127.0.0.1");
  try {
    return Number(await admin.call("CLUSTER", "KEYSLOT", key));
  } finally {
    admin.disconnect();
  }
}
