/**
 * Reads `read()` until `ok` holds and returns that value; rejects after `timeoutMs` with the last
 * value read. For waits that need the value they waited for (a run record once completed, a job once
 * failed); a plain condition is `expect.poll` in a test. Plain TypeScript, so scripts can use it too.
 */
export async function eventually<T>(
  read: () => Promise<T>,
  ok: (value: T) => boolean,
  what: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (ok(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last: ${JSON.stringify(value)}`);
    await new Promise((r) => setTimeout(r, options.intervalMs ?? 50));
  }
}
