import type { LockManagerLike } from "./lock-manager.js";

/**
 * Exclusive locks within one JS realm, with Web Locks semantics (FIFO, `ifAvailable`, abortable waits): for
 * tests and for sharing one stream between several consumers of one Node process.
 */
export function createMemoryLocks(): LockManagerLike {
  const held = new Set<string>();
  const waiting = new Map<string, Array<() => void>>();
  const release = (name: string) => {
    const next = waiting.get(name)?.shift();
    if (next) next();
    else held.delete(name);
  };
  return {
    async request(name, options, callback) {
      if (options.ifAvailable && options.signal) {
        throw new DOMException("ifAvailable and signal cannot be used together", "NotSupportedError");
      }
      if (held.has(name)) {
        if (options.ifAvailable) return callback(null);
        await new Promise<void>((resolve, reject) => {
          const queue = waiting.get(name) ?? [];
          waiting.set(name, queue);
          const grant = () => {
            options.signal?.removeEventListener("abort", onAbort);
            resolve();
          };
          const onAbort = () => {
            const index = queue.indexOf(grant);
            if (index !== -1) queue.splice(index, 1);
            reject(options.signal?.reason ?? new Error("aborted"));
          };
          if (options.signal?.aborted) return onAbort();
          options.signal?.addEventListener("abort", onAbort, { once: true });
          queue.push(grant);
        });
      } else {
        held.add(name);
      }
      try {
        return await callback({ name });
      } finally {
        release(name);
      }
    },
  };
}
