import { ID_PATTERN } from "@threadline/protocol";
import { usageError } from "./cli-error.js";

/** Returns `id` when it is a valid thread/run id, else a usage error naming `what`. */
export function validThreadId(id: string, what = "thread id"): string {
  if (!ID_PATTERN.test(id))
    throw usageError(`${what} must match ${ID_PATTERN} (letters, digits, _ and -), got "${id}"`);
  return id;
}
