import type { Verifier } from "@threadline/auth";
import { ERRORS } from "@threadline/protocol";
import type { LoginThrottle } from "@threadline/redis";
import { HttpError, httpError } from "@threadline/server";
import type { FastifyBaseLogger, FastifyInstance } from "fastify";
import { z } from "zod";
import { clearAdminCookie, requireAdmin, setAdminCookie } from "./admin-session.js";
import { LOGIN_PAGE } from "./login-page.js";

const LoginBody = z.object({ token: z.string().min(1).max(16_384) });

/**
 * `GET /admin/login` (a form to paste an admin token into), `POST /admin/login` (token in the body, JSON or
 * form, or in the Authorization header → session cookie) and `POST /admin/logout`. Logins refused with 401
 * are counted per client address (`request.ip`: the socket's peer unless it is a TRUST_PROXY proxy); an
 * address over the budget gets 429 RATE_LIMITED with Retry-After, whatever it sends, until its window ends.
 */
export function loginRoutes(
  app: FastifyInstance,
  verifier: Verifier,
  throttle: LoginThrottle,
  now: () => number,
): void {
  app.addContentTypeParser(
    "application/x-www-form-urlencoded",
    { parseAs: "string" },
    (_request, body, done) => {
      done(null, Object.fromEntries(new URLSearchParams(body.toString())));
    },
  );

  app.get("/admin/login", { schema: { hide: true } }, async (_request, reply) =>
    reply.type("text/html; charset=utf-8").header("cache-control", "no-store").send(LOGIN_PAGE),
  );

  app.post("/admin/login", { schema: { hide: true } }, async (request, reply) => {
    const blockedMs = await throttle.blockedFor(request.ip);
    if (blockedMs > 0) throw throttled(blockedMs);
    const fromForm =
      request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") === true;
    if (!request.headers.authorization) {
      const body = LoginBody.safeParse(request.body ?? {});
      if (!body.success)
        throw httpError(ERRORS.INVALID_BODY, 'invalid body: token: send { "token": "<admin jwt>" }');
      request.headers.authorization = `Bearer ${body.data.token}`;
    }
    const { claims } = await countRefusal(
      throttle,
      request.ip,
      () => requireAdmin(verifier, request),
      request.log,
    );
    const maxAge = setAdminCookie(
      request,
      reply,
      request.headers.authorization.slice(7).trim(),
      claims.exp,
      now(),
    );
    request.log.info({ sub: claims.sub }, "admin logged in to the queue dashboard");
    if (fromForm) return reply.code(303).header("location", "/admin/queues").send();
    return { sub: claims.sub, expiresInSeconds: maxAge };
  });

  app.post("/admin/logout", { schema: { hide: true } }, async (request, reply) => {
    clearAdminCookie(request, reply);
    return reply.code(204).send();
  });
}

/** Runs the token check; a 401 (no valid token: a wrong secret) counts against the address. */
async function countRefusal<T>(
  throttle: LoginThrottle,
  address: string,
  check: () => T,
  log: FastifyBaseLogger,
): Promise<T> {
  try {
    return check();
  } catch (error) {
    if (error instanceof HttpError && error.statusCode === 401) {
      const blockedMs = await throttle.recordFailure(address);
      log.warn({ ip: address, blocked: blockedMs > 0 }, "admin login refused");
    }
    throw error;
  }
}

function throttled(blockedMs: number): HttpError {
  const seconds = Math.ceil(blockedMs / 1000);
  return httpError(
    ERRORS.RATE_LIMITED,
    `too many refused admin logins from this address; retry in ${seconds} s`,
    { retryAfterSeconds: seconds },
    { "retry-after": String(seconds) },
  );
}
