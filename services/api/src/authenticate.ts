import { AUTH_ERRORS, type Claims, extractToken, publishGrantOf, type Verifier } from "@threadline/auth";
import { HttpError } from "@threadline/server";
import type { FastifyRequest } from "fastify";
import { unauthorized } from "./errors.js";

declare module "fastify" {
  interface FastifyRequest {
    /** Set by `authenticate` on every /v1 route. */
    claims?: Claims;
  }
  interface FastifyContextConfig {
    /** The route takes an external run's publish token (only HTTP publish does). */
    acceptsPublishToken?: boolean;
  }
}

/**
 * An `onRequest` hook: Bearer header only. The API never accepts `?access_token=` (URLs end up in
 * logs and proxies; only the gateway allows it, for EventSource), and says so instead of a bare 401.
 */
export function createAuthenticate(verifier: Verifier) {
  return async function authenticate(request: FastifyRequest): Promise<void> {
    const query = request.query as Record<string, unknown> | undefined;
    const extracted = extractToken({
      authorization: request.headers.authorization,
      queryToken: query?.access_token,
    });
    if (extracted.from === "query")
      throw unauthorized(AUTH_ERRORS.queryToken.code, AUTH_ERRORS.queryToken.message);
    if (extracted.from === "malformed") {
      throw unauthorized(AUTH_ERRORS.malformed.code, "the Authorization header must be `Bearer <jwt>`");
    }
    const result = verifier.verify(extracted.token);
    if (!result.ok) throw unauthorized(result.code, result.message);
    // A producer's token publishes one run's events; it must not read threads or start runs.
    if (publishGrantOf(result.claims) && !request.routeOptions.config?.acceptsPublishToken) {
      throw new HttpError(
        403,
        AUTH_ERRORS.forbidden.code,
        "a publish token only publishes its run's events (POST …/runs/:runId/events); use a user token here",
      );
    }
    request.claims = result.claims;
  };
}

/** The verified claims of a request that went through `authenticate`. */
export function claimsOf(request: FastifyRequest): Claims {
  if (!request.claims) throw new Error("route is missing the authenticate hook");
  return request.claims;
}
