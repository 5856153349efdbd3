import type { PGlite } from "@electric-sql/pglite";
import type { PGLiteSocketServer } from "@electric-sql/pglite-socket";

interface QueuedMessage {
  handlerId: number;
  message: Uint8Array;
  onData(data: Uint8Array): void;
  resolve(bytes: number): void;
  reject(error: unknown): void;
}

/** The internals of pglite-socket 0.2.17's QueryQueueManager that this patch relies on. */
interface QueryQueue {
  queue: QueuedMessage[];
  processing: boolean;
  lastHandlerId: number | null;
  processQueue(): Promise<void>;
  clearQueueForHandler(handlerId: number): void;
}

/** Extended-query messages: Parse, Bind, Describe, Execute, Close, Flush. A Sync ends the sequence. */
const EXTENDED = new Set([0x50, 0x42, 0x44, 0x45, 0x43, 0x48]);

/**
 * pglite-socket 0.2.17 queues each wire message on its own, so with two clients one client's Bind can
 * land between another's Parse and Execute (`portal "" does not exist`, or rows of the wrong query:
 * postgres.js sends every parameterised query that way). This replaces its queue loop with one that
 * also keeps a client's extended-query sequence together until its Sync, as it already does for an
 * open transaction. Pinned to that version's internals; tests/scripts/embedded-postgres.test.ts
 * fails if they change.
 */
export function keepExtendedQueriesTogether(server: PGLiteSocketServer, db: PGlite): void {
  const queue = (server as unknown as { queryQueue?: QueryQueue }).queryQueue;
  if (!queue || !Array.isArray(queue.queue) || typeof queue.processQueue !== "function") {
    throw new Error("pglite-socket internals changed: review scripts/start/pglite-sync-queue.ts");
  }
  let holder: number | null = null;
  const clear = queue.clearQueueForHandler.bind(queue);
  queue.clearQueueForHandler = (handlerId) => {
    if (holder === handlerId) holder = null;
    clear(handlerId);
  };
  queue.processQueue = async () => {
    if (queue.processing || queue.queue.length === 0) return;
    queue.processing = true;
    try {
      while (queue.queue.length > 0) {
        const sticky = holder ?? (db.isInTransaction() ? queue.lastHandlerId : null);
        const index = sticky === null ? 0 : queue.queue.findIndex((q) => q.handlerId === sticky);
        if (index === -1) break; // wait for that client's next message
        const [item] = queue.queue.splice(index, 1);
        if (!item) break;
        let bytes = 0;
        try {
          await db.runExclusive(() =>
            db.execProtocolRawStream(item.message, {
              onRawData: (data: Uint8Array) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          holder = null;
          item.reject(error);
          continue;
        }
        queue.lastHandlerId = item.handlerId;
        holder = EXTENDED.has(item.message[0] ?? 0) ? item.handlerId : null;
        item.resolve(bytes);
      }
    } finally {
      queue.processing = false;
    }
  };
}
