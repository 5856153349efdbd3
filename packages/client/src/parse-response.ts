import { ERRORS } from "@threadline/protocol";
import type { z } from "zod";
import { ThreadlineError } from "./threadline-error.js";

/** Validates a response body; a mismatch means client and server disagree on the contract. */
export function parseResponse<T extends z.ZodType>(schema: T, body: unknown, what: string): z.infer<T> {
  const parsed = schema.safeParse(body);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ");
  throw new ThreadlineError(
    0,
    ERRORS.BAD_RESPONSE.code,
    `${what}: the server's answer does not match the client's contract (${issues}); upgrade @threadline/client or the server`,
  );
}
