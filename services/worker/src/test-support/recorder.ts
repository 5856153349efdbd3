import type { EventDraft } from "@threadline/protocol";
import type { EventPublisher, Published } from "@threadline/redis";

/**
 * Records what reaches the (in-memory) publisher; `delayMs` makes each call slow like a round trip.
 * `calls` holds how many events each call carried (the real script's batching is tested against
 * Redis in services/worker/src/publish-batching.int.test.ts).
 */
export function recorder(delayMs = 0, failOn?: number) {
  const sent: EventDraft[] = [];
  const calls: number[] = [];
  /** Each call's idempotency: `<key>` alone, or `call <key>` for a batch, with its items' own keys. */
  const keysSent: string[] = [];
  const one = (event: EventDraft): Published => {
    if (sent.length === failOn) throw new Error("redis went away");
    sent.push(event);
    return { id: `1-${sent.length}`, seq: sent.length, ts: 0, duplicate: false };
  };
  const publisher: EventPublisher = {
    async publish(_target, event, options): Promise<Published> {
      calls.push(1);
      keysSent.push(`${options?.idempotencyKey}`);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return one(event);
    },
    async publishBatch(_target, items, options) {
      calls.push(items.length);
      keysSent.push(`call ${options?.callKey} ${items.map((item) => item.idempotencyKey ?? "-").join(",")}`);
      if (delayMs) await new Promise((r) => setTimeout(r, delayMs));
      return { published: items.map((item) => one(item.event)) };
    },
  };
  return { sent, calls, keysSent, publisher };
}
