/**
 * Waits `ms`, or less when `signal` aborts first. Never rejects (callers check `signal.aborted`) and removes
 * its abort listener either way. Here rather than `node:timers/promises` because the browser build of the
 * client needs it too.
 */
export function abortableSleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted || ms <= 0) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
