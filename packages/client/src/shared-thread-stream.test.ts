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

/** `expect.poll` options: tabs talk over in-memory channels, so 5 s is plenty; look every 5 ms. */
const soon = (what: string, timeoutMs = 5000) => ({ timeout: timeoutMs, interval: 5, message: what });

async function shareAndHandOver(makeLocks: () => LockManagerLike, namespace: string) {
  server = await startLogSseServer();
  const first = openTab(makeLocks(), namespace);
  await server.waitForStreams(1);
  server.publish("a");
  server.publish("b");
  await expect.poll(() => first.items.length === 2, soon("the leader to stream a, b")).toBe(true);
  // Late tabs: history for what they missed, then the leader's relay.
  const second = openTab(makeLocks(), namespace);
  const third = openTab(makeLocks(), namespace);
  await expect
    .poll(() => second.items.length === 2 && third.items.length === 2, soon("followers to backfill a, b"))
    .toBe(true);
  server.publish("c");
  await expect
    .poll(() => [first, second, third].every((t) => t.items.length === 3), soon("c to reach every tab"))
    .toBe(true);
  expect(server.resumes).toHaveLength(1);
  expect(server.openStreams()).toBe(1);
  expect(second.changes.some((c) => c.role === "follower" && c.state === "live")).toBe(true);

  // The leader tab closes; an event published during the handover must still reach the others.
  await first.close();
  server.publish("d");
  await server.waitForStreams(2);
  server.publish("e");
  await expect
    .poll(() => second.items.length === 5 && third.items.length === 5, soon("d, e after the handover"))
    .toBe(true);
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
    await expect
      .poll(
        () => follower.changes.some((c) => c.state === "live"),
        soon("the leader's live state at the follower"),
      )
      .toBe(true);
    server.publish("x");
    await expect.poll(() => follower.items.length === 1, soon("x at the follower")).toBe(true);
    server.dropStreams();
    await server.waitForStreams(2);
    server.publish("y");
    await expect.poll(() => follower.items.length === 2, soon("y at the follower")).toBe(true);
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
