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

/** When a stream opened with `claims` must end (ms since epoch): exp, plus the verifier's clock tolerance. */
export function streamExpiresAtMs(claims: Claims, clockToleranceSeconds: number): number {
  return (claims.exp + clockToleranceSeconds) * 1000;
}

export type StreamAuthorizer = (credentials: StreamCredentials, threadId: string) => Promise<Claims>;

/** The two halves of a stream's auth, apart for the WebSocket transport (one token, threads come later). */
export interface StreamAuth {
  /** 401 (`HttpError`) without a valid token. */
  authenticate(credentials: StreamCredentials): Claims;
  /** 403 (`HttpError`) when `claims` may not read the thread. */
  authorizeThread(claims: Claims, threadId: string): Promise<void>;
}

/**
 * 401 without a valid token, 403 when the token may not read the thread. The thread's owner is
 * looked up (meta hash, else the archive) only when the token's own claims don't already grant access.
 */
export function createStreamAuth(
  verifier: Verifier,
  ownerOf: OwnerLookup,
  metrics: GatewayMetrics,
): StreamAuth {
  const refuse = (reason: AuthFailureReason | "header", code: string, message: string): never => {
    metrics.authFailures.inc({ reason });
    throw new HttpError(401, code, message, undefined, {
      "www-authenticate": `Bearer error="invalid_token"`,
    });
  };
  return {
    authenticate({ authorization, queryToken }) {
      const extracted = extractToken({ authorization, queryToken });
      if (extracted.from === "malformed") {
        refuse("header", AUTH_ERRORS.malformed.code, "the Authorization header must be: Bearer <jwt>");
      }
      const result = verifier.verify(extracted.token);
      if (!result.ok) return refuse(result.reason, result.code, result.message);
      return result.claims;
    },
    async authorizeThread(claims, threadId) {
      if (canRead(claims, threadId, undefined)) return;
      const owner = await ownerOf(threadId);
      if (canRead(claims, threadId, owner)) return;
      metrics.authFailures.inc({ reason: "forbidden" });
      throw new HttpError(
        403,
        AUTH_ERRORS.forbidden.code,
        `${AUTH_ERRORS.forbidden.message}: ask for a token that lists it in "threads"`,
      );
    },
  };
}

/** Both halves at once, for the SSE routes (one thread, or every thread of `?threads=`, per request). */
export function createStreamAuthorizer(auth: StreamAuth): StreamAuthorizer {
  return async (credentials, threadId) => {
    const claims = auth.authenticate(credentials);
    await auth.authorizeThread(claims, threadId);
    return claims;
  };
}
