import { z } from "zod";

/** The one error body every service returns: `{ error: { code, message, details? } }`. */
export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() }),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

/** Codes sent in-band as `event: error` on a stream. */
export const STREAM_ERROR_CODES = {
  replayTruncated: "REPLAY_TRUNCATED",
  tokenExpired: "TOKEN_EXPIRED",
} as const;
