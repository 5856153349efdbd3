import { abortableSleep } from "@threadline/protocol";
import type { AgentEvent } from "./types.js";

/** How many unpaced tokens may pass before yielding to the event loop (keeps aborts prompt). */
const YIELD_EVERY = 256;

/**
 * Streams `tokens` as `token` events at `tokensPerSecond` (0: as fast as possible), stopping when
 * `signal` aborts. Paced against an absolute schedule, so timer slack does not accumulate.
 */
export async function* paceTokens(
  tokens: readonly string[],
  tokensPerSecond: number,
  signal: AbortSignal,
  now: () => number = Date.now,
): AsyncGenerator<AgentEvent> {
  const interval = tokensPerSecond > 0 ? 1_000 / tokensPerSecond : 0;
  const start = now();
  for (let i = 0; i < tokens.length; i++) {
    if (interval > 0) {
      const wait = start + i * interval - now();
      if (wait >= 1) await abortableSleep(wait, signal);
    } else if (i % YIELD_EVERY === YIELD_EVERY - 1) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (signal.aborted) return;
    yield { type: "token", content: tokens[i] ?? "" };
  }
}
