import { randomBytes } from "node:crypto";

/** A run id that sorts by creation time and is safe in URLs, keys and job ids: `run_<time36>_<hex>`. */
export function newRunId(now: number = Date.now()): string {
  return `run_${now.toString(36).padStart(9, "0")}_${randomBytes(6).toString("hex")}`;
}
