import { abortableSleep } from "@threadline/protocol";
import type { ChannelFactory, LockManagerLike } from "./lock-manager.js";

export interface BroadcastLocksOptions {
  /** How often a holder says it still holds the lock. Default 500 ms. */
  heartbeatMs?: number;
  /** How long a claimant listens for a holder or a better claim before taking the lock. Default 150 ms. */
  claimWindowMs?: number;
  random?: () => number;
}

type Message =
  | { t: "query"; name: string }
  | { t: "held"; name: string; id: string }
  | { t: "claim"; name: string; id: string; rank: number }
  | { t: "released"; name: string; id: string };

/**
 * Leader election over BroadcastChannel for runtimes without Web Locks. The holder heartbeats; when it releases
 * (or its tab dies and the heartbeats stop for 3 periods) waiting tabs claim with a random rank and the lowest
 * rank heard within the claim window wins. Weaker than Web Locks (a frozen tab can briefly overlap with its
 * successor), which is why events are also deduplicated by id.
 */
export function createBroadcastLocks(
  channels: ChannelFactory,
  options: BroadcastLocksOptions = {},
): LockManagerLike {
  const heartbeatMs = options.heartbeatMs ?? 500;
  const claimWindowMs = options.claimWindowMs ?? 150;
  const random = options.random ?? Math.random;
  const self = `${Date.now().toString(36)}-${Math.floor(random() * 1e9).toString(36)}`;

  return {
    async request(name, requestOptions, callback) {
      if (requestOptions.ifAvailable && requestOptions.signal) {
        throw new DOMException("ifAvailable and signal cannot be used together", "NotSupportedError");
      }
      const channel = channels(`threadline-lock:${name}`);
      let holderSeenAt = 0;
      // Recent claims by others: one that arrived just before ours still counts (no split brain).
      const claims: Array<{ id: string; rank: number; at: number }> = [];
      let myRank = 0;
      let holding = false;
      let changed: (() => void) | undefined;
      const onMessage = ({ data }: { data: unknown }) => {
        const m = data as Message;
        if (!m || m.name !== name) return;
        if (m.t === "query" && holding) channel.postMessage({ t: "held", name, id: self });
        if (m.t === "held") holderSeenAt = Date.now();
        if (m.t === "claim") claims.push({ id: m.id, rank: m.rank, at: Date.now() });
        if (m.t === "released") holderSeenAt = 0;
        changed?.();
      };
      channel.addEventListener("message", onMessage);
      const wait = (ms: number) => abortableSleep(ms, requestOptions.signal);
      const holderAlive = () => holderSeenAt > 0 && Date.now() - holderSeenAt < heartbeatMs * 3;
      let heartbeat: ReturnType<typeof setInterval> | undefined;
      try {
        channel.postMessage({ t: "query", name });
        await wait(claimWindowMs);
        for (;;) {
          if (requestOptions.signal?.aborted) throw requestOptions.signal.reason ?? new Error("aborted");
          if (!holderAlive()) {
            myRank = random();
            const claimedAt = Date.now();
            channel.postMessage({ t: "claim", name, id: self, rank: myRank });
            await wait(claimWindowMs);
            const rivals = claims.filter((c) => c.at >= claimedAt - claimWindowMs);
            claims.length = 0;
            const beaten = rivals.some((c) => c.rank < myRank || (c.rank === myRank && c.id < self));
            if (!beaten && !holderAlive()) break;
          }
          if (requestOptions.ifAvailable) return await callback(null);
          // Woken by any message, or at the next heartbeat deadline.
          await Promise.race([wait(heartbeatMs), new Promise<void>((r) => (changed = r))]);
          changed = undefined;
        }
        holding = true;
        channel.postMessage({ t: "held", name, id: self });
        heartbeat = setInterval(() => channel.postMessage({ t: "held", name, id: self }), heartbeatMs);
        return await callback({ name });
      } finally {
        clearInterval(heartbeat);
        if (holding) channel.postMessage({ t: "released", name, id: self });
        channel.removeEventListener("message", onMessage);
        channel.close();
      }
    },
  };
}
