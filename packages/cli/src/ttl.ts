import { usageError } from "./cli-error.js";

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** `90`, `90s`, `15m`, `1h`, `7d` → seconds. */
export function parseTtl(value: string): number {
  const match = /^(\d+)([smhd]?)$/.exec(value.trim());
  const seconds = match ? Number(match[1]) * (UNITS[match[2] || "s"] ?? 1) : Number.NaN;
  if (!Number.isSafeInteger(seconds) || seconds < 1 || seconds > 365 * 86_400) {
    throw usageError(`--ttl: expected a duration like 90s, 15m, 1h or 7d (at most 365d), got "${value}"`);
  }
  return seconds;
}
