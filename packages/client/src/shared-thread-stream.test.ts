import { afterEach, describe, expect, it } from "vitest";
import { createBroadcastLocks } from "./broadcast-locks.js";
import type { ChannelLike, LockManagerLike } from "./lock-manager.js";
import { createMemoryLocks } from "./memory-locks.js";
import { type LogSseServer, startLogSseServer } from "./test-support/log-sse-server.js";
import { createThreadlineClient } from "./threadline-client.js";
import type { ConnectionStateChange, StreamItem } from "./types.js";

let server: LogSseServer | undefined;
const tabs: Tab[] = [];
afterEach(async () => {
  await Promise.all(tabs.splice(0).map((t) => t.close()));
  await server?.close();
});

const channels = (name: string) => new BroadcastChannel(name) as unknown as ChannelLike;

interface Tab {
  items: StreamItem[];
  changes: ConnectionStateChange[];
  texts(): string[];
  close(): Promise<void>;
  done: Promise<unknown>;
}

function openTab(locks: LockManagerLike, namespace: string, from: "live" | "start" = "start"): Tab {
  const client = createThreadlineClient({
    apiUrl: server!.url,
    gatewayUrl: server!.url,
    getToken: () => "tok",
  });
  const controller = new AbortController();
  const items: StreamItem[] = [];
  const changes: ConnectionStateChange[] = [];
  const iterator = client.thread("t").events({
    from,
    signal: controller.signal,
    backoff: { initialDelayMs: 10 },
    onStateChange: (c) => changes.push(c),
    shareAcrossTabs: { locks, channels, namespace },
  });
  const done = (async () => {
    for await (const item of iterator) items.push(item);
  })().catch((error: unknown) => error);
  const tab: Tab = {
    items,
    changes,
    done,
    texts: () => items.map((i) => (i.kind === "event" ? String(i.event.content) : "gap")),
    close: async () => {
      controller.abort();
      await done;
    },
  };
  tabs.push(tab);
  return tab;
}

async function until(condition: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function shareAndHandOver(makeLocks: () => LockManagerLike, namespace: string) {
  server = await startLogSseServer();
  const first = openTab(makeLocks(), namespace);
  await server.waitForStreams(1);
  server.publish("a");
  server.publish("b");
  await until(() => first.items.length === 2, "the leader to stream a, b");
  // Late tabs: history for what they missed, then the leader's relay.
  const second = openTab(makeLocks(), namespace);
  const third = openTab(makeLocks(), namespace);
  await until(() => second.items.length === 2 && third.items.length === 2, "followers to backfill a, b");
  server.publish("c");
  await until(() => [first, second, third].every((t) => t.items.length === 3), "c to reach every tab");
  expect(server.resumes).toHaveLength(1);
  expect(server.openStreams()).toBe(1);
  expect(second.changes.some((c) => c.role === "follower" && c.state === "live")).toBe(true);

  // The leader tab closes; an event published during the handover must still reach the others.
  await first.close();
  server.publish("d");
  await server.waitForStreams(2);
  server.publish("e");
  await until(() => second.items.length === 5 && third.items.length === 5, "d, e after the handover");
  for (const tab of [second, third]) expect(tab.texts()).toEqual(["a", "b", "c", "d", "e"]);
  expect(server.resumes).toEqual(["0", "3-0"]);
  expect(server.openStreams()).toBe(1);
  const leaders = [second, third].filter((t) => t.changes.some((c) => c.role === "leader"));
  expect(leaders).toHaveLength(1);
  expect(leaders[0]!.changes.find((c) => c.state === "live" && c.role === "leader")?.resumed).toBe(true);
}

describe("createSharedThreadStream", () => {
  it("with Web Locks semantics: one connection for three tabs, no loss when the leader closes", async () => {
    const locks = createMemoryLocks();
    await shareAndHandOver(() => locks, `ns-${Math.random()}`);
  });

  it("with the BroadcastChannel election fallback: the same guarantees", async () => {
    await shareAndHandOver(
      () => createBroadcastLocks(channels, { heartbeatMs: 60, claimWindowMs: 60 }),
      `ns-${Math.random()}`,
    );
  });

  it("followers see the leader's connection state, and the stream survives the leader's reconnect", async () => {
    server = await startLogSseServer();
    const locks = createMemoryLocks();
    const namespace = `ns-${Math.random()}`;
    openTab(locks, namespace);
    await server.waitForStreams(1);
    const follower = openTab(locks, namespace, "live");
    // Joining, the follower learns the leader's state without waiting for a change.
    await until(
      () => follower.changes.some((c) => c.state === "live"),
      "the leader's live state at the follower",
    );
    server.publish("x");
    await until(() => follower.items.length === 1, "x at the follower");
    server.dropStreams();
    await server.waitForStreams(2);
    server.publish("y");
    await until(() => follower.items.length === 2, "y at the follower");
    expect(follower.texts()).toEqual(["x", "y"]);
    expect(server.resumes[1]).toBe("1-0");
    const seen = follower.changes.map((c) => `${c.role}:${c.state}:${c.resumed}`);
    expect(seen).toEqual(expect.arrayContaining(["follower:reconnecting:false", "follower:live:true"]));
    expect(follower.changes.every((c) => c.role === "follower")).toBe(true);
  });

  it("a fatal error in the leader fails the leader's iterator", async () => {
    server = await startLogSseServer();
    const locks = createMemoryLocks();
    const client = createThreadlineClient({
      apiUrl: server.url,
      gatewayUrl: server.url,
      getToken: () => "tok",
    });
    const iterator = client
      .thread("t")
      .events({ from: "not-an-id", shareAcrossTabs: { locks, channels, namespace: "x" } });
    await expect(iterator.next()).rejects.toThrow(/from must be/);
  });
});
