import type { Verifier } from "@threadline/auth";
import { ERRORS } from "@threadline/protocol";
import { httpError } from "@threadline/server";
import type { FastifyInstance } from "fastify";
import { z } from "zod";
import { clearAdminCookie, requireAdmin, setAdminCookie } from "./admin-session.js";
import { LOGIN_PAGE } from "./login-page.js";

const LoginBody = z.object({ token: z.string().min(1).max(16_384) });

/**
 * `GET /admin/login` (a form to paste an admin token into), `POST /admin/login` (token in the body, JSON or
 * form, or in the Authorization header → session cookie) and `POST /admin/logout`.
 */
export function loginRoutes(app: FastifyInstance, verifier: Verifier, now: () => number): void {
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
    const fromForm =
      request.headers["content-type"]?.startsWith("application/x-www-form-urlencoded") === true;
    if (!request.headers.authorization) {
      const body = LoginBody.safeParse(request.body ?? {});
      if (!body.success)
        throw httpError(ERRORS.INVALID_BODY, 'invalid body: token: send { "token": "<admin jwt>" }');
      request.headers.authorization = `Bearer ${body.data.token}`;
    }
    const { claims } = requireAdmin(verifier, request);
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
