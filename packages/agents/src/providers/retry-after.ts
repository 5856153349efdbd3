import { parseRetryAfter as parseRetryAfterValue } from "@threadline/protocol";

/**
 * Milliseconds a provider asked us to wait: `retry-after-ms` (OpenAI, Anthropic), else `retry-after`
 * (seconds or an HTTP date, read by the contract's one parser). Undefined when absent or unparseable.
 */
export function parseRetryAfter(headers: Headers | undefined, now = Date.now()): number | undefined {
  const ms = headers?.get("retry-after-ms");
  if (ms && /^\d+(\.\d+)?$/.test(ms.trim())) return Math.ceil(Number(ms));
  return parseRetryAfterValue(headers?.get("retry-after"), now);
}
