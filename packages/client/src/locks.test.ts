import { describe, expect, it } from "vitest";
import { createBroadcastLocks } from "./broadcast-locks.js";
import type { ChannelLike, LockManagerLike } from "./lock-manager.js";
import { createMemoryLocks } from "./memory-locks.js";

const channels = (name: string) => new BroadcastChannel(name) as unknown as ChannelLike;

async function contend(
  managers: LockManagerLike[],
  name: string,
): Promise<{ order: number[]; maxActive: number }> {
  let active = 0;
  let maxActive = 0;
  const order: number[] = [];
  await Promise.all(
    managers.map((locks, i) =>
      locks.request(name, {}, async () => {
        active += 1;
        maxActive = Math.max(maxActive, active);
        order.push(i);
        await new Promise((r) => setTimeout(r, 40));
        active -= 1;
      }),
    ),
  );
  return { order, maxActive };
}

describe.each([
  ["memory", () => createMemoryLocks()],
  ["broadcast", () => createBroadcastLocks(channels, { heartbeatMs: 40, claimWindowMs: 25 })],
] as const)("%s locks", (kind, make) => {
  it("grant the lock to one holder at a time, and to everyone in turn", async () => {
    const shared = kind === "memory" ? make() : undefined;
    const managers = [0, 1, 2].map(() => shared ?? make());
    const { order, maxActive } = await contend(managers, `lock-${Math.random()}`);
    expect(maxActive).toBe(1);
    expect([...order].sort()).toEqual([0, 1, 2]);
  });

  it("ifAvailable gives null while another holds the lock", async () => {
    const a = make();
    const b = kind === "memory" ? a : make();
    const name = `lock-${Math.random()}`;
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let granted!: () => void;
    const holding = new Promise<void>((r) => {
      granted = r;
    });
    const first = a.request(name, {}, async () => {
      granted();
      await held;
    });
    await holding;
    await expect(b.request(name, { ifAvailable: true }, (lock) => lock)).resolves.toBeNull();
    release();
    await first;
    await expect(b.request(name, { ifAvailable: true }, (lock) => lock !== null)).resolves.toBe(true);
  });

  it("refuses ifAvailable together with signal, as Web Locks does", async () => {
    const request = make().request("x", { ifAvailable: true, signal: new AbortController().signal }, () => 1);
    await expect(request).rejects.toMatchObject({ name: "NotSupportedError" });
  });

  it("a waiting request can be aborted", async () => {
    const a = make();
    const b = kind === "memory" ? a : make();
    const name = `lock-${Math.random()}`;
    let release!: () => void;
    let granted!: () => void;
    const holding = new Promise<void>((r) => {
      granted = r;
    });
    const first = a.request(name, {}, () => {
      granted();
      return new Promise<void>((r) => {
        release = r;
      });
    });
    await holding;
    const controller = new AbortController();
    const waiting = b.request(name, { signal: controller.signal }, () => "got it");
    setTimeout(() => controller.abort(new Error("tab closed")), 30);
    await expect(waiting).rejects.toThrow("tab closed");
    release();
    await first;
  });
});

describe("broadcast locks", () => {
  it("take over when the holder's tab dies without releasing (its heartbeats stop)", async () => {
    let dead = false;
    const mortal = (name: string): ChannelLike => {
      const channel = channels(name);
      return {
        postMessage: (m) => {
          if (!dead) channel.postMessage(m);
        },
        addEventListener: (t, l) => channel.addEventListener(t, l),
        removeEventListener: (t, l) => channel.removeEventListener(t, l),
        close: () => channel.close(),
      };
    };
    const name = `lock-${Math.random()}`;
    const options = { heartbeatMs: 40, claimWindowMs: 25 };
    let granted!: () => void;
    const holding = new Promise<void>((r) => {
      granted = r;
    });
    const zombie = new AbortController();
    void createBroadcastLocks(mortal, options)
      .request(name, {}, () => {
        granted();
        return new Promise((r) => zombie.signal.addEventListener("abort", r));
      })
      .catch(() => {});
    await holding;
    const startedAt = Date.now();
    const successor = createBroadcastLocks(channels, options).request(name, {}, () => Date.now());
    await new Promise((r) => setTimeout(r, 150));
    dead = true;
    const tookOverAt = await successor;
    expect(tookOverAt - startedAt).toBeGreaterThanOrEqual(150);
    expect(tookOverAt - startedAt).toBeLessThan(1000);
    zombie.abort();
  });
});
