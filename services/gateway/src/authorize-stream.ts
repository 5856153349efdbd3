import type { OwnerLookup } from "@threadline/archive";
import {
  AUTH_ERRORS,
  type AuthFailureReason,
  type Claims,
  canRead,
  extractToken,
  type Verifier,
} from "@threadline/auth";
import { HttpError } from "@threadline/server";
import type { GatewayMetrics } from "./metrics.js";

export interface StreamCredentials {
  authorization: string | string[] | undefined;
  /** `?access_token=` (EventSource cannot set headers); never logged. */
  queryToken: unknown;
}

export type StreamAuthorizer = (credentials: StreamCredentials, threadId: string) => Promise<Claims>;

/**
 * 401 without a valid token, 403 when the token may not read the thread. The thread's owner is
 * looked up (meta hash, else the archive) only when the token's own claims don't already grant access.
 */
export function createStreamAuthorizer(
  verifier: Verifier,
  ownerOf: OwnerLookup,
  metrics: GatewayMetrics,
): StreamAuthorizer {
  const refuse = (reason: AuthFailureReason | "header", code: string, message: string): never => {
    metrics.authFailures.inc({ reason });
    throw new HttpError(401, code, message, undefined, {
      "www-authenticate": `Bearer error="invalid_token"`,
    });
  };
  return async ({ authorization, queryToken }, threadId) => {
    const extracted = extractToken({ authorization, queryToken });
    if (extracted.from === "malformed") {
      refuse("header", AUTH_ERRORS.malformed.code, "the Authorization header must be: Bearer <jwt>");
    }
    const result = verifier.verify(extracted.token);
    if (!result.ok) return refuse(result.reason, result.code, result.message);
    const { claims } = result;
    if (canRead(claims, threadId, undefined)) return claims;
    const owner = await ownerOf(threadId);
    if (canRead(claims, threadId, owner)) return claims;
    metrics.authFailures.inc({ reason: "forbidden" });
    throw new HttpError(
      403,
      AUTH_ERRORS.forbidden.code,
      `${AUTH_ERRORS.forbidden.message}: ask for a token that lists it in "threads"`,
    );
  };
}
