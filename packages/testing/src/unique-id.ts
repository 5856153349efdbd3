import { randomBytes } from "node:crypto";

/** A thread/run id unique to this test: isolation by id, never FLUSHALL. */
export function uniqueId(prefix = "t"): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(4).toString("hex")}`;
}
